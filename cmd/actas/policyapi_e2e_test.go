package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
)

func apiCall(t *testing.T, method, u, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestPolicyAPIEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, "actas:impersonate")
			sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
			otto, _ := console.codeFlow(t, newBrowser(t, srv.URL), "otto")
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID)
			alice, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
			aliceAtConsole, _ := console.codeFlow(t, newBrowser(t, srv.URL), "alice") // the scope, but no impersonator role
			eval := srv.URL + "/api/v1/policy/evaluate"

			cases := []struct {
				name, token, body string
				status            int
				allowed           bool
				code              string
			}{
				{"ok/support-for-customer", sam.AccessToken, `{"target":"u-alice","reason":"Customer ticket about billing","audience":["` + srv.URL + `"]}`, 200, true, ""},
				// No audience: the exchange's default (actas itself), as the exchange would decide.
				{"ok/default-audience", sam.AccessToken, `{"target":"u-alice","reason":"Customer ticket about billing"}`, 200, true, ""},
				{"ok/impersonation-scope-ignored", sam.AccessToken, `{"target":"u-alice","reason":"Customer ticket about billing","scope":["impersonation","openid"]}`, 200, true, ""},
				{"fail/super-admin-target", sam.AccessToken, `{"target":"u-sue","reason":"Customer ticket about billing"}`, 200, false, "role_not_allowed"},
				{"fail/opted-out", sam.AccessToken, `{"target":"u-dave","reason":"Customer ticket about billing"}`, 200, false, "target_opted_out"},
				{"fail/self", sam.AccessToken, `{"target":"u-sam","reason":"Customer ticket about billing"}`, 200, false, "self_impersonation"},
				{"fail/no-reason", sam.AccessToken, `{"target":"u-alice"}`, 200, false, "reason_required"},
				{"fail/customer-token-lacks-scope", alice.AccessToken, `{"target":"u-bob"}`, 403, false, ""},
				{"fail/customer-with-the-scope-is-no-impersonator", aliceAtConsole.AccessToken, `{"target":"u-dave"}`, 403, false, ""},
				{"fail/no-token", "", `{"target":"u-bob"}`, 401, false, ""},
				{"fail/unknown-target", sam.AccessToken, `{"target":"u-nobody"}`, 404, false, ""},
				{"fail/unknown-field", sam.AccessToken, `{"target":"u-bob","tenant":"x"}`, 400, false, ""},
				{"fail/support-evaluates-for-other-actor", sam.AccessToken, `{"target":"u-bob","actor":"u-ada"}`, 403, false, ""},
				{"ok/auditor-evaluates-for-other-actor", otto.AccessToken, `{"target":"u-bob","actor":"u-sam","reason":"Customer ticket about billing"}`, 200, false, "mfa_required"},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					status, body := apiCall(t, http.MethodPost, eval, tc.token, tc.body)
					if status != tc.status {
						t.Fatalf("status %d, want %d: %v", status, tc.status, body)
					}
					if status != 200 {
						return
					}
					if body["allowed"] != tc.allowed || (tc.code != "" && body["reason_code"] != tc.code) {
						t.Fatalf("decision = %v", body)
					}
					if outs, _ := body["outcomes"].([]any); len(outs) == 0 {
						t.Fatal("no rule outcomes in the dry run")
					}
					if ob, _ := body["obligations"].(map[string]any); tc.allowed && strings.Contains(fmt.Sprint(ob["scopes"]), "impersonation") {
						t.Fatalf("the dry run would issue the scope impersonation: %v", ob)
					}
				})
			}

			t.Run("ok/representable-users", func(t *testing.T) {
				status, body := apiCall(t, http.MethodGet, srv.URL+"/api/v1/representable-users", sam.AccessToken, "")
				if status != 200 {
					t.Fatalf("status %d: %v", status, body)
				}
				var ids []string
				for _, u := range body["users"].([]any) {
					ids = append(ids, u.(map[string]any)["id"].(string))
				}
				slices.Sort(ids)
				if !slices.Equal(ids, []string{"u-alice", "u-bob"}) {
					t.Fatalf("representable = %v, want alice and bob (carol: other tenant, dave: opted out, staff: not customers)", ids)
				}
				status, body = apiCall(t, http.MethodGet, srv.URL+"/api/v1/representable-users?"+url.Values{"q": {"ALI"}, "limit": {"1"}}.Encode(), sam.AccessToken, "")
				if status != 200 || len(body["users"].([]any)) != 1 {
					t.Fatalf("filtered: %d %v", status, body)
				}
				if status, _ := apiCall(t, http.MethodGet, srv.URL+"/api/v1/representable-users?limit=1000", sam.AccessToken, ""); status != 400 {
					t.Fatalf("limit 1000 → %d", status)
				}
			})

			t.Run("fail/token-carrying-act-refused", func(t *testing.T) {
				// A delegated token (it carries act) is never accepted by actas's own API.
				status, body := exchangeForm(t, srv, url.Values{
					"grant_type":         {"urn:ietf:params:oauth:grant-type:token-exchange"},
					"subject_token":      {sam.AccessToken},
					"subject_token_type": {"urn:ietf:params:oauth:token-type:access_token"},
					"actor_token":        {otto.AccessToken},
					"actor_token_type":   {"urn:ietf:params:oauth:token-type:access_token"},
				})
				if status != 200 {
					t.Fatalf("delegation: %d %v", status, body)
				}
				delegated, _ := body["access_token"].(string)
				for _, u := range []string{eval, srv.URL + "/api/v1/representable-users"} {
					method, b := http.MethodGet, ""
					if u == eval {
						method, b = http.MethodPost, `{"target":"u-bob"}`
					}
					if status, resp := apiCall(t, method, u, delegated, b); status != 403 || resp["error"] != "invalid_token" {
						t.Fatalf("%s with an act token: %d %v", u, status, resp)
					}
				}
			})
		})
	}
}

// exchangeForm posts a token-exchange request as the support console.
func exchangeForm(t *testing.T, srv *testServer, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(config.DemoConsoleClientID, config.DemoConsoleClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
