package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/actas-dev/actas/config"
)

// TestUserinfoIntrospectionRevocationBadRequests covers the endpoints that take a token: userinfo
// (OIDC Core §5.3, RFC 6750), introspection (RFC 7662) and revocation (RFC 7009).
func TestUserinfoIntrospectionRevocationBadRequests(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			alice := newBrowser(t, srv.URL)
			// userTokens runs the console's code flow as alice (first-party: no consent page).
			userTokens := func(t *testing.T, scope string) tokenResponse {
				a := newAuthRequest(config.DemoConsoleClientID, consoleRedirect, scope)
				code := a.code(t, srv, alice, "alice")
				return wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(code), basic: consoleAuth}.do(t, srv))
			}
			clientToken := func(t *testing.T) string {
				return wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", basic: consoleAuth,
					form: url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}}.do(t, srv)).AccessToken
			}
			userinfo := func(method, token string, form url.Values) reply {
				c := httpCall{method: method, path: "/userinfo", form: form}
				if token != "" {
					c.header = map[string]string{"Authorization": "Bearer " + token}
				}
				return c.do(t, srv)
			}
			wantBearerChallenge := func(t *testing.T, r reply, code string) {
				t.Helper()
				h := r.resp.Header.Get("WWW-Authenticate")
				if !strings.HasPrefix(h, "Bearer") || (code != "" && !strings.Contains(h, `error="`+code+`"`)) || (code == "" && strings.Contains(h, "error=")) {
					t.Fatalf("WWW-Authenticate = %q, want a Bearer challenge with error %q (RFC 6750 §3)", h, code)
				}
			}
			tokens := userTokens(t, "openid profile email offline_access")

			t.Run("ok/userinfo-get-header", func(t *testing.T) {
				r := userinfo(http.MethodGet, tokens.AccessToken, nil)
				var claims map[string]any
				if r.resp.StatusCode != http.StatusOK || json.Unmarshal(r.body, &claims) != nil || claims["sub"] != "u-alice" || claims["email"] != "alice@example.com" {
					t.Fatalf("status %d: %s", r.resp.StatusCode, r.body)
				}
				if !strings.Contains(r.resp.Header.Get("Cache-Control"), "no-store") {
					t.Fatal("userinfo answer may be cached")
				}
			})
			t.Run("ok/userinfo-post-form-body", func(t *testing.T) {
				r := userinfo(http.MethodPost, "", url.Values{"access_token": {tokens.AccessToken}})
				if r.resp.StatusCode != http.StatusOK || !strings.Contains(string(r.body), `"sub":"u-alice"`) {
					t.Fatalf("status %d: %s", r.resp.StatusCode, r.body)
				}
			})
			t.Run("fail/userinfo-no-token", func(t *testing.T) {
				r := userinfo(http.MethodGet, "", nil)
				if r.resp.StatusCode != http.StatusUnauthorized || len(r.body) != 0 {
					t.Fatalf("status %d body %q, want 401 and no body", r.resp.StatusCode, r.body)
				}
				wantBearerChallenge(t, r, "")
			})
			t.Run("fail/userinfo-token-in-query", func(t *testing.T) {
				r := httpCall{method: http.MethodGet, path: "/userinfo?access_token=" + url.QueryEscape(tokens.AccessToken)}.do(t, srv)
				if r.resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(r.body), "u-alice") {
					t.Fatalf("status %d: %s, want 401: a token in the query is not accepted", r.resp.StatusCode, r.body)
				}
			})
			t.Run("fail/userinfo-garbage-token", func(t *testing.T) {
				r := userinfo(http.MethodGet, "not-a-token", nil)
				wantError(t, r, http.StatusUnauthorized, "invalid_token", "invalid, expired or revoked")
				wantBearerChallenge(t, r, "invalid_token")
			})
			t.Run("fail/userinfo-refresh-token", func(t *testing.T) {
				r := userinfo(http.MethodGet, tokens.RefreshToken, nil)
				wantError(t, r, http.StatusUnauthorized, "invalid_token", "invalid, expired or revoked")
			})
			t.Run("fail/userinfo-revoked-token", func(t *testing.T) {
				tr := userTokens(t, "openid profile")
				if code := revoke(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret, tr.AccessToken); code != http.StatusOK {
					t.Fatalf("revoke: %d", code)
				}
				wantError(t, userinfo(http.MethodGet, tr.AccessToken, nil), http.StatusUnauthorized, "invalid_token", "invalid, expired or revoked")
			})
			t.Run("fail/userinfo-without-openid-scope", func(t *testing.T) {
				r := userinfo(http.MethodGet, clientToken(t), nil)
				wantError(t, r, http.StatusForbidden, "insufficient_scope", "'openid' scope")
				wantBearerChallenge(t, r, "insufficient_scope")
			})
			t.Run("fail/userinfo-header-and-body", func(t *testing.T) {
				r := userinfo(http.MethodPost, tokens.AccessToken, url.Values{"access_token": {tokens.AccessToken}})
				wantError(t, r, http.StatusBadRequest, "invalid_request", "exactly one way")
			})
			t.Run("fail/userinfo-not-bearer", func(t *testing.T) {
				r := httpCall{method: http.MethodGet, path: "/userinfo", basic: consoleAuth}.do(t, srv)
				wantError(t, r, http.StatusBadRequest, "invalid_request", "not a bearer token")
			})

			introspectCall := func(form url.Values, auth *[2]string) httpCall {
				return httpCall{method: http.MethodPost, path: "/oauth2/introspect", form: form, basic: auth}
			}
			tokenForm := url.Values{"token": {tokens.AccessToken}}
			introspectionFailures := []struct {
				name   string
				call   httpCall
				status int
				code   string
				desc   string
			}{
				{name: "fail/introspect-unauthenticated", call: introspectCall(tokenForm, nil),
					status: 401, code: "invalid_client", desc: "no client authentication"},
				{name: "fail/introspect-wrong-secret", call: introspectCall(tokenForm, basicAuth(config.DemoAPIClientID, "wrong")),
					status: 401, code: "invalid_client", desc: "client authentication failed"},
				{name: "fail/introspect-unknown-client", call: introspectCall(tokenForm, basicAuth("no-such-client", "x")),
					status: 401, code: "invalid_client", desc: "client authentication failed"},
				{name: "fail/introspect-public-client", call: introspectCall(url.Values{"token": {tokens.AccessToken}, "client_id": {config.DemoSPAClientID}}, nil),
					status: 401, code: "invalid_client", desc: "public client cannot"},
				{name: "fail/introspect-bearer-authentication", call: httpCall{method: http.MethodPost, path: "/oauth2/introspect", form: tokenForm,
					header: map[string]string{"Authorization": "Bearer " + tokens.AccessToken}},
					status: 401, code: "invalid_client", desc: "bearer token is not accepted"},
				{name: "fail/introspect-missing-token", call: introspectCall(url.Values{"token_type_hint": {"access_token"}}, apiAuth),
					status: 400, code: "invalid_request", desc: "'token' parameter is missing"},
				{name: "fail/introspect-oversized-token", call: introspectCall(url.Values{"token": {strings.Repeat("t", 20<<10)}}, apiAuth),
					status: 400, code: "invalid_request", desc: "'token' exceeds"},
			}
			for _, tc := range introspectionFailures {
				t.Run(tc.name, func(t *testing.T) {
					r := tc.call.do(t, srv)
					wantError(t, r, tc.status, tc.code, tc.desc)
					if tc.status == 401 && !strings.HasPrefix(r.resp.Header.Get("WWW-Authenticate"), "Basic") {
						t.Errorf("WWW-Authenticate = %q, want Basic", r.resp.Header.Get("WWW-Authenticate"))
					}
					if strings.Contains(string(r.body), "u-alice") {
						t.Errorf("an unauthenticated caller learnt about the token: %s", r.body)
					}
				})
			}
			for name, tok := range map[string]string{"unknown-jwt": tokens.AccessToken[:len(tokens.AccessToken)-4] + "AAAA",
				"garbage": "garbage", "unknown-refresh": "ory_rt_unknown.unknown"} {
				t.Run("ok/introspect-"+name+"-is-inactive", func(t *testing.T) {
					r := introspectCall(url.Values{"token": {tok}}, apiAuth).do(t, srv)
					if r.resp.StatusCode != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"active":false}` {
						t.Fatalf("status %d: %s, want exactly {\"active\":false}", r.resp.StatusCode, r.body)
					}
				})
			}
			t.Run("ok/introspect-client-secret-post", func(t *testing.T) {
				r := introspectCall(url.Values{"token": {tokens.AccessToken}, "client_id": {config.DemoAPIClientID},
					"client_secret": {config.DemoAPIClientSecret}}, nil).do(t, srv)
				var ir map[string]any
				if r.resp.StatusCode != http.StatusOK || json.Unmarshal(r.body, &ir) != nil || ir["active"] != true || ir["sub"] != "u-alice" {
					t.Fatalf("status %d: %s", r.resp.StatusCode, r.body)
				}
			})

			revokeCall := func(form url.Values, auth *[2]string) httpCall {
				return httpCall{method: http.MethodPost, path: "/oauth2/revoke", form: form, basic: auth}
			}
			t.Run("fail/revoke-token-of-another-client", func(t *testing.T) {
				tok := clientToken(t)
				r := revokeCall(url.Values{"token": {tok}}, apiAuth).do(t, srv)
				wantError(t, r, http.StatusBadRequest, "unauthorized_client", "not issued to this client")
				if introspect(t, srv, tok)["active"] != true {
					t.Fatal("another client revoked the token")
				}
			})
			t.Run("fail/revoke-unauthenticated", func(t *testing.T) {
				tok := clientToken(t)
				wantError(t, revokeCall(url.Values{"token": {tok}}, nil).do(t, srv), http.StatusUnauthorized, "invalid_client", "no client authentication")
				wantError(t, revokeCall(url.Values{"token": {tok}}, basicAuth(config.DemoConsoleClientID, "wrong")).do(t, srv),
					http.StatusUnauthorized, "invalid_client", "client authentication failed")
				if introspect(t, srv, tok)["active"] != true {
					t.Fatal("an unauthenticated request revoked the token")
				}
			})
			t.Run("fail/revoke-missing-token", func(t *testing.T) {
				wantError(t, revokeCall(url.Values{"token_type_hint": {"access_token"}}, consoleAuth).do(t, srv),
					http.StatusBadRequest, "invalid_request", "'token' parameter is missing")
			})
			t.Run("ok/revoke-unknown-token", func(t *testing.T) {
				for _, tok := range []string{"garbage", "ory_rt_unknown.unknown", tokens.AccessToken[:len(tokens.AccessToken)-4] + "AAAA"} {
					if r := revokeCall(url.Values{"token": {tok}}, consoleAuth).do(t, srv); r.resp.StatusCode != http.StatusOK {
						t.Fatalf("unknown token: status %d: %s, want 200 (RFC 7009 §2.2)", r.resp.StatusCode, r.body)
					}
				}
			})
			t.Run("ok/revoke-refresh-token-revokes-access-tokens", func(t *testing.T) {
				tr := userTokens(t, "openid offline_access")
				r := revokeCall(url.Values{"token": {tr.RefreshToken}, "token_type_hint": {"refresh_token"}}, consoleAuth).do(t, srv)
				if r.resp.StatusCode != http.StatusOK {
					t.Fatalf("revoke: status %d: %s", r.resp.StatusCode, r.body)
				}
				for name, tok := range map[string]string{"access": tr.AccessToken, "refresh": tr.RefreshToken} {
					if ir := introspect(t, srv, tok); len(ir) != 1 || ir["active"] != false {
						t.Errorf("%s token after revoking the refresh token: %v", name, ir)
					}
				}
				wantError(t, httpCall{method: http.MethodPost, path: "/oauth2/token", basic: consoleAuth,
					form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}}.do(t, srv), 400, "invalid_grant", "")
			})
			t.Run("ok/revoke-by-public-client", func(t *testing.T) {
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid offline_access")
				tr := wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(a.code(t, srv, alice, "alice"))}.do(t, srv))
				r := revokeCall(url.Values{"token": {tr.RefreshToken}, "client_id": {config.DemoSPAClientID}}, nil).do(t, srv)
				if r.resp.StatusCode != http.StatusOK || introspect(t, srv, tr.AccessToken)["active"] != false {
					t.Fatalf("public client could not revoke its own token: status %d: %s", r.resp.StatusCode, r.body)
				}
			})
		})
	}
}
