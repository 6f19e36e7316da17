package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
)

// TestAuditTrailEndToEnd: exchanges and dry runs land in the durable trail, readable by an
// auditor through the API, and the chain verifies.
func TestAuditTrailEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, "actas:impersonate", "actas:audit")
			sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
			otto, _ := console.codeFlow(t, newBrowser(t, srv.URL), "otto")

			if status, body := exchangeForm(t, srv, url.Values{
				"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"subject_token":      {sam.AccessToken},
				"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
				"actor_token":        {otto.AccessToken},
				"actor_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
			}); status != 200 {
				t.Fatalf("delegation: %d %v", status, body)
			}
			if status, body := exchangeForm(t, srv, url.Values{
				"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
				"subject_token":      {"u-sue"},
				"subject_token_type": {"urn:actas:params:oauth:token-type:user_id"},
				"actor_token":        {sam.AccessToken},
				"actor_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
				"scope":              {"impersonation"},
				"reason":             {"Customer ticket about billing"},
			}); status != 400 || body["reason_code"] != "role_not_allowed" {
				t.Fatalf("impersonating a super admin: %d %v", status, body)
			}

			events := func(typ string) []any {
				status, body := apiCall(t, http.MethodGet, srv.URL+"/api/v1/audit?type="+typ, otto.AccessToken, "")
				if status != 200 {
					t.Fatalf("audit query: %d %v", status, body)
				}
				list, _ := body["events"].([]any)
				return list
			}
			eventually(t, "the granted exchange in the trail", func() bool { return len(events("token_exchange.granted")) >= 1 })
			eventually(t, "the denied exchange in the trail", func() bool { return len(events("token_exchange.denied")) >= 1 })
			if len(events("config.loaded")) < 1 {
				t.Fatal("no config.loaded event")
			}
			// Revoking a token that does not exist is a 200 (RFC 7009 §2.2) that anyone holding a
			// public client id can send: it is not audited; a real revocation is.
			revoke := func(token, hint string) {
				t.Helper()
				resp, err := http.PostForm(srv.URL+"/oauth2/revoke", url.Values{"client_id": {config.DemoSPAClientID}, "token": {token}, "token_type_hint": {hint}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("revoke: %d", resp.StatusCode)
				}
			}
			for range 5 {
				revoke("no-such-token-"+randHex(8), "")
			}
			alice, _ := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID).codeFlow(t, newBrowser(t, srv.URL), "alice")
			revoke(alice.AccessToken, "access_token")
			eventually(t, "the revocation in the trail", func() bool { return len(events(audit.TypeTokenRevoked)) >= 1 })
			revoked := events(audit.TypeTokenRevoked)
			if n := len(revoked); n != 1 {
				t.Fatalf("%d token.revoked events for one real revocation and five of nothing", n)
			}
			// The hint is kept (it names a token type, not a token): the event is not sanitized.
			if d, _ := revoked[0].(map[string]any)["detail"].(map[string]any); d["token_type_hint"] != "access_token" || d["sanitized"] != nil {
				t.Fatalf("token.revoked detail %v", d)
			}
			if status, _ := apiCall(t, http.MethodGet, srv.URL+"/api/v1/audit", sam.AccessToken, ""); status != http.StatusForbidden {
				t.Fatalf("a support agent read the audit trail: %d", status)
			}
			rep, err := srv.app.trail.Verify(t.Context())
			if err != nil || !rep.OK {
				t.Fatalf("verify: %+v %v", rep, err)
			}
		})
	}
}

// TestLoginEventsAudited: a successful login and a failed one land in the trail, without the
// password.
func TestLoginEventsAudited(t *testing.T) {
	srv := startServer(t, config.BackendMemory, nil)
	b := newBrowser(t, srv.URL)
	spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID)
	spa.codeFlow(t, b, "alice")
	b2 := newBrowser(t, srv.URL)
	p := b2.get(srv.URL + "/login?return_to=" + url.QueryEscape("/oauth2/auth?x=1"))
	b2.submit(p, map[string]string{"username": "bob", "password": "not-bobs-password"})
	var got map[string]bool = map[string]bool{}
	eventually(t, "login events", func() bool {
		evs, _, err := srv.app.trail.Query(t.Context(), auditFilter())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			got[e.Type+"/"+e.Actor] = true
			for _, v := range e.Detail {
				if v == "not-bobs-password" {
					t.Fatal("a password reached the audit trail")
				}
			}
		}
		if !(got["login.succeeded/u-alice"] && got["login.failed/u-bob"]) {
			t.Logf("events so far: %v", got)
			return false
		}
		return true
	})
}

func auditFilter() audit.Filter { return audit.Filter{Limit: 100} }
