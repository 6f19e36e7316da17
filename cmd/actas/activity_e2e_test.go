package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
)

func activityCall(t *testing.T, srv *testServer, id, secret, sid, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/representations/"+sid+"/activity", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRepresentationActivityEndToEnd: a resource server reports what was done under a
// representation; the report lands in the audit trail, in the same chain, filterable by session.
func TestRepresentationActivityEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
			sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
			status, body := exchangeCall(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret, url.Values{
				"subject_token": {"u-alice"}, "subject_token_type": {exchange.TokenTypeUserID},
				"actor_token": {sam.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
				"scope": {"impersonation openid"}, "reason": {"customer asked for help with an order"}})
			if status != http.StatusOK {
				t.Fatalf("impersonation: %d %v", status, body)
			}
			sid, _ := decodeJWT(t, body["access_token"].(string)).claims["sid"].(string)

			report := `{"action":"order.refund","object":"order/1234","outcome":"success","time":"2026-11-21T10:00:00Z"}`
			cases := []struct {
				name, id, secret, sid, body string
				want                        int
			}{
				{"ok/resource-server-with-activity-scope", config.DemoAPIClientID, config.DemoAPIClientSecret, sid, report, http.StatusAccepted},
				{"ok/client-that-received-tokens", config.DemoConsoleClientID, config.DemoConsoleClientSecret, sid, report, http.StatusAccepted},
				{"fail/no-client-auth", "", "", sid, report, http.StatusUnauthorized},
				{"fail/wrong-secret", config.DemoAPIClientID, "wrong", sid, report, http.StatusUnauthorized},
				{"fail/unknown-session", config.DemoAPIClientID, config.DemoAPIClientSecret, "nope", report, http.StatusNotFound},
				{"fail/missing-action", config.DemoAPIClientID, config.DemoAPIClientSecret, sid, `{"object":"x"}`, http.StatusBadRequest},
				{"fail/unknown-field", config.DemoAPIClientID, config.DemoAPIClientSecret, sid, `{"action":"a","token":"x"}`, http.StatusBadRequest},
				{"fail/oversized", config.DemoAPIClientID, config.DemoAPIClientSecret, sid, `{"action":"` + strings.Repeat("a", 5000) + `"}`, http.StatusBadRequest},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					if got := activityCall(t, srv, tc.id, tc.secret, tc.sid, tc.body); got != tc.want {
						t.Fatalf("status %d, want %d", got, tc.want)
					}
				})
			}
			evs, _, err := srv.app.trail.Query(t.Context(), audit.Filter{Representation: sid, Type: exchange.EventRepresentationActivity})
			if err != nil || len(evs) != 2 || evs[0].Detail["action"] != "order.refund" || evs[0].Actor != "u-sam" || evs[0].Target != "u-alice" {
				t.Fatalf("activity events = %+v, %v", evs, err)
			}
		})
	}
}
