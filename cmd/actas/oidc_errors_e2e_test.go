package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/actas-dev/actas/config"
)

// TestTokenEndpointBadRequests sends every kind of bad token request (RFC 6749 §3.2, §4.1.3, §5.2;
// RFC 7636 §4.6; RFC 9700 §4.8) to a real server and checks the error answer and that no token
// was issued. One server per backend; each case makes its own codes and tokens.
func TestTokenEndpointBadRequests(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			alice := newBrowser(t, srv.URL)
			consoleCode := func(t *testing.T, withPKCE bool) (*authRequest, string) {
				a := newAuthRequest(config.DemoConsoleClientID, consoleRedirect, "openid profile offline_access")
				if !withPKCE {
					a.verifier = ""
				}
				return a, a.code(t, srv, alice, "alice")
			}
			spaCode := func(t *testing.T) (*authRequest, string) {
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid profile offline_access")
				return a, a.code(t, srv, alice, "alice")
			}
			cc := func(extra url.Values) url.Values {
				v := url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}
				for k, vals := range extra {
					v[k] = vals
				}
				return v
			}
			tokenCall := func(form url.Values, auth *[2]string) httpCall {
				return httpCall{method: http.MethodPost, path: "/oauth2/token", form: form, basic: auth}
			}

			t.Run("ok/client-secret-basic", func(t *testing.T) {
				wantToken(t, tokenCall(cc(nil), consoleAuth).do(t, srv))
			})
			t.Run("ok/client-secret-post", func(t *testing.T) {
				wantToken(t, tokenCall(cc(url.Values{"client_id": {config.DemoConsoleClientID},
					"client_secret": {config.DemoConsoleClientSecret}}), nil).do(t, srv))
			})
			t.Run("ok/code-without-pkce-for-confidential-client", func(t *testing.T) {
				a, code := consoleCode(t, false)
				wantToken(t, tokenCall(a.redeem(code), consoleAuth).do(t, srv))
			})

			cases := []struct {
				name   string
				call   func(t *testing.T) httpCall
				status int
				code   string
				desc   string
				after  func(t *testing.T)
			}{
				{name: "fail/unknown-client", status: 401, code: "invalid_client", desc: "client authentication failed",
					call: func(*testing.T) httpCall { return tokenCall(cc(nil), basicAuth("no-such-client", "secret")) }},
				{name: "fail/wrong-secret", status: 401, code: "invalid_client", desc: "client authentication failed",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(nil), basicAuth(config.DemoConsoleClientID, "wrong-secret"))
					}},
				{name: "fail/wrong-secret-post", status: 401, code: "invalid_client", desc: "client authentication failed",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"client_id": {config.DemoConsoleClientID}, "client_secret": {"wrong"}}), nil)
					}},
				{name: "fail/no-client-authentication", status: 401, code: "invalid_client", desc: "client authentication failed",
					call: func(*testing.T) httpCall { return tokenCall(cc(nil), nil) }},
				{name: "fail/two-authentication-methods", status: 400, code: "invalid_request", desc: "more than one",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"client_id": {config.DemoConsoleClientID},
							"client_secret": {config.DemoConsoleClientSecret}}), consoleAuth)
					}},
				{name: "fail/missing-grant-type", status: 400, code: "invalid_request", desc: "'grant_type' parameter is missing",
					call: func(*testing.T) httpCall { return tokenCall(url.Values{"scope": {"openid"}}, consoleAuth) }},
				{name: "fail/unknown-grant-type", status: 400, code: "unsupported_grant_type", desc: "'password' is not supported",
					call: func(*testing.T) httpCall {
						return tokenCall(url.Values{"grant_type": {"password"}, "username": {"alice"}, "password": {"x"}}, consoleAuth)
					}},
				{name: "fail/grant-not-allowed-for-client", status: 400, code: "unauthorized_client", desc: "refresh_token",
					call: func(*testing.T) httpCall {
						return tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, apiAuth)
					}},
				{name: "fail/redirect-uri-mismatch", status: 400, code: "invalid_grant", desc: "redirect_uri",
					call: func(t *testing.T) httpCall {
						a, code := consoleCode(t, true)
						f := a.redeem(code)
						f.Set("redirect_uri", "http://127.0.0.1:5556/elsewhere")
						return tokenCall(f, consoleAuth)
					}},
				{name: "fail/redirect-uri-missing", status: 400, code: "invalid_grant", desc: "redirect_uri",
					call: func(t *testing.T) httpCall {
						a, code := consoleCode(t, true)
						f := a.redeem(code)
						f.Del("redirect_uri")
						return tokenCall(f, consoleAuth)
					}},
				{name: "fail/pkce-verifier-mismatch", status: 400, code: "invalid_grant", desc: "code challenge did not match the code verifier",
					call: func(t *testing.T) httpCall {
						a, code := spaCode(t)
						f := a.redeem(code)
						f.Set("code_verifier", oauth2.GenerateVerifier())
						return tokenCall(f, nil)
					}},
				{name: "fail/pkce-verifier-missing", status: 400, code: "invalid_grant", desc: "'code_verifier' parameter is missing",
					call: func(t *testing.T) httpCall {
						a, code := spaCode(t)
						f := a.redeem(code)
						f.Del("code_verifier")
						return tokenCall(f, nil)
					}},
				{name: "fail/pkce-verifier-without-challenge", status: 400, code: "invalid_grant", desc: "carried no code_challenge",
					call: func(t *testing.T) httpCall {
						a, code := consoleCode(t, false)
						f := a.redeem(code)
						f.Set("code_verifier", oauth2.GenerateVerifier())
						return tokenCall(f, consoleAuth)
					}},
				{name: "fail/code-of-another-client", status: 400, code: "invalid_grant", desc: "client id from this request does not match",
					call: func(t *testing.T) httpCall {
						a, code := spaCode(t)
						f := a.redeem(code)
						f.Del("client_id")
						return tokenCall(f, consoleAuth)
					}},
				{name: "fail/unknown-code", status: 400, code: "invalid_grant", desc: "authorization code",
					call: func(*testing.T) httpCall {
						return tokenCall(url.Values{"grant_type": {"authorization_code"}, "code": {"ory_ac_unknown.unknown"},
							"redirect_uri": {consoleRedirect}}, consoleAuth)
					}},
				{name: "fail/scope-not-allowed", status: 400, code: "invalid_scope", desc: "'actas:introspect'",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"scope": {"actas:impersonate actas:introspect"}}), consoleAuth)
					}},
				{name: "fail/oversized-scope", status: 400, code: "invalid_request", desc: "'scope' exceeds",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"scope": {strings.Repeat("s", 5<<10)}}), consoleAuth)
					}},
				{name: "fail/oversized-token", status: 400, code: "invalid_request", desc: "'refresh_token' exceeds",
					call: func(*testing.T) httpCall {
						return tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {strings.Repeat("r", 20<<10)}}, consoleAuth)
					}},
				{name: "fail/oversized-body", status: 413, code: "invalid_request", desc: "too large",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"padding": {strings.Repeat("p", 70<<10)}}), consoleAuth)
					}},
				{name: "fail/duplicated-grant-type", status: 400, code: "invalid_request", desc: "'grant_type' must not be included more than once",
					call: func(*testing.T) httpCall {
						return tokenCall(url.Values{"grant_type": {"client_credentials", "client_credentials"}}, consoleAuth)
					}},
				{name: "fail/duplicated-scope", status: 400, code: "invalid_request", desc: "'scope' must not be included more than once",
					call: func(*testing.T) httpCall {
						return tokenCall(cc(url.Values{"scope": {"actas:impersonate", "actas:audit"}}), consoleAuth)
					}},
				{name: "fail/query-string-parameters", status: 400, code: "invalid_request", desc: "not the query string",
					call: func(*testing.T) httpCall {
						c := tokenCall(url.Values{"scope": {"actas:impersonate"}}, consoleAuth)
						c.path += "?grant_type=client_credentials"
						return c
					}},
				{name: "fail/not-a-form", status: 400, code: "invalid_request", desc: "form",
					call: func(*testing.T) httpCall {
						return httpCall{method: http.MethodPost, path: "/oauth2/token", rawBody: `{"grant_type":"client_credentials"}`,
							basic: consoleAuth, header: map[string]string{"Content-Type": "application/json"}}
					}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					wantError(t, tc.call(t).do(t, srv), tc.status, tc.code, tc.desc)
					if tc.after != nil {
						tc.after(t)
					}
				})
			}

			// RFC 6749 §3.2: POST only. The route is "POST /oauth2/token", so the mux answers 405
			// itself (not as JSON until the route accepts every method and the handler refuses).
			t.Run("fail/get", func(t *testing.T) {
				r := httpCall{method: http.MethodGet, path: "/oauth2/token", form: cc(nil), basic: consoleAuth}.do(t, srv)
				if r.resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.resp.Header.Get("Allow"), "POST") {
					t.Fatalf("GET: status %d, Allow %q, want 405 and POST", r.resp.StatusCode, r.resp.Header.Get("Allow"))
				}
				wantNoToken(t, r)
				if strings.Contains(string(r.body), "access_token") {
					t.Fatalf("GET issued a token: %s", r.body)
				}
			})

			t.Run("fail/invalid-client-has-www-authenticate", func(t *testing.T) {
				r := tokenCall(cc(nil), basicAuth(config.DemoConsoleClientID, "wrong")).do(t, srv)
				if h := r.resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic") {
					t.Fatalf("WWW-Authenticate = %q, want Basic (RFC 6749 §5.2)", h)
				}
			})

			t.Run("fail/code-replay-revokes-first-tokens", func(t *testing.T) {
				a, code := consoleCode(t, true)
				first := wantToken(t, tokenCall(a.redeem(code), consoleAuth).do(t, srv))
				if first.RefreshToken == "" {
					t.Fatal("no refresh token")
				}
				if introspect(t, srv, first.AccessToken)["active"] != true {
					t.Fatal("first access token not active")
				}
				wantError(t, tokenCall(a.redeem(code), consoleAuth).do(t, srv), 400, "invalid_grant", "authorization code has already been used")
				for name, tok := range map[string]string{"access": first.AccessToken, "refresh": first.RefreshToken} {
					if ir := introspect(t, srv, tok); len(ir) != 1 || ir["active"] != false {
						t.Errorf("%s token of the first redemption after replay: %v, want exactly {active:false}", name, ir)
					}
				}
				wantError(t, tokenCall(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first.RefreshToken}}, consoleAuth).do(t, srv),
					400, "invalid_grant", "")
			})

			t.Run("fail/refresh-with-broader-scope", func(t *testing.T) {
				a, code := consoleCode(t, true)
				tr := wantToken(t, tokenCall(a.redeem(code), consoleAuth).do(t, srv))
				f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}, "scope": {"openid profile offline_access email"}}
				wantError(t, tokenCall(f, consoleAuth).do(t, srv), 400, "invalid_scope", "'email'")
				// The refusal spent nothing: a refresh within the grant still works.
				f.Set("scope", "openid offline_access")
				wantToken(t, tokenCall(f, consoleAuth).do(t, srv))
			})

			t.Run("fail/refresh-token-of-another-client", func(t *testing.T) {
				a, code := spaCode(t)
				tr := wantToken(t, tokenCall(a.redeem(code), nil).do(t, srv))
				f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tr.RefreshToken}}
				wantError(t, tokenCall(f, consoleAuth).do(t, srv), 400, "invalid_grant", "client id from this request does not match")
				// The rightful client can still use it: the attempt spent nothing.
				f.Set("client_id", config.DemoSPAClientID)
				wantToken(t, tokenCall(f, nil).do(t, srv))
			})
		})
	}
}

// TestTokenEndpointExpiry checks expired codes and access tokens on a server with one-second
// lifetimes: the code is refused, the token introspects as exactly {"active": false}.
func TestTokenEndpointExpiry(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			srv := startServer(t, backend, func(c *config.Config) {
				c.Tokens.AuthorizeCodeLifespan = time.Second
				c.Tokens.AccessTokenLifespan = time.Second
			})
			b := newBrowser(t, srv.URL)
			a := newAuthRequest(config.DemoConsoleClientID, consoleRedirect, "openid")
			code := a.code(t, srv, b, "alice")
			at := wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", basic: consoleAuth,
				form: url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}}.do(t, srv)).AccessToken
			time.Sleep(2100 * time.Millisecond)

			t.Run("fail/expired-code", func(t *testing.T) {
				r := httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(code), basic: consoleAuth}.do(t, srv)
				wantError(t, r, 400, "invalid_grant", "expired")
			})
			t.Run("fail/expired-access-token", func(t *testing.T) {
				if ir := introspect(t, srv, at); len(ir) != 1 || ir["active"] != false {
					t.Fatalf("expired token introspection = %v, want exactly {active:false}", ir)
				}
			})
		})
	}
}
