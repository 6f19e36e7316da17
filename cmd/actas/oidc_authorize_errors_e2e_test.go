package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/actas-dev/actas/config"
)

// TestAuthorizeEndpointBadRequests sends bad authorization requests (RFC 6749 §4.1.2.1, RFC 9207,
// RFC 7636, OIDC Core §3.1.2) from a browser that is not logged in: a request with an unusable
// client or redirect URI gets an error page and never a redirect; any other bad request goes back
// to the client's redirect URI with `error`, `state` and `iss`, before any login page.
func TestAuthorizeEndpointBadRequests(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			get := func(v url.Values) reply {
				return httpCall{method: http.MethodGet, path: "/oauth2/auth", form: v}.do(t, srv)
			}
			spa := func(mutate func(url.Values)) url.Values {
				v := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid profile").values()
				if mutate != nil {
					mutate(v)
				}
				return v
			}

			pages := []struct {
				name string
				form url.Values
				code string
				desc string
			}{
				{name: "fail/unregistered-redirect-uri", code: "invalid_request", desc: "redirect_uri",
					form: spa(func(v url.Values) { v.Set("redirect_uri", "https://attacker.example/callback") })},
				{name: "fail/redirect-uri-prefix-of-registered", code: "invalid_request", desc: "redirect_uri",
					form: spa(func(v url.Values) { v.Set("redirect_uri", spaRedirect+"/more") })},
				{name: "fail/missing-redirect-uri", code: "invalid_request", desc: "'redirect_uri' parameter is required",
					form: spa(func(v url.Values) { v.Del("redirect_uri") })},
				{name: "fail/unknown-client", code: "invalid_client", desc: "client does not exist",
					form: spa(func(v url.Values) { v.Set("client_id", "no-such-client") })},
				{name: "fail/missing-client-id", code: "invalid_client", desc: "client does not exist",
					form: spa(func(v url.Values) { v.Del("client_id") })},
				{name: "fail/duplicated-redirect-uri", code: "invalid_request", desc: "'redirect_uri' must not be included more than once",
					form: spa(func(v url.Values) { v.Add("redirect_uri", "https://attacker.example/callback") })},
				{name: "fail/oversized-parameter", code: "invalid_request", desc: "'scope' is too long",
					form: spa(func(v url.Values) { v.Set("scope", strings.Repeat("s", 5<<10)) })},
			}
			for _, tc := range pages {
				t.Run(tc.name, func(t *testing.T) {
					r := get(tc.form)
					if loc := r.resp.Header.Get("Location"); loc != "" {
						t.Fatalf("redirected to %s: an unusable client or redirect URI must never redirect", loc)
					}
					wantError(t, r, http.StatusBadRequest, tc.code, tc.desc)
				})
			}

			redirects := []struct {
				name     string
				form     url.Values
				redirect string
				code     string
				desc     string
			}{
				{name: "fail/response-type-token", code: "unsupported_response_type", desc: "'token'",
					form: spa(func(v url.Values) { v.Set("response_type", "token") })},
				{name: "fail/response-type-hybrid", code: "unsupported_response_type", desc: "response_type",
					form: spa(func(v url.Values) { v.Set("response_type", "code id_token") })},
				{name: "fail/missing-response-type", code: "unsupported_response_type", desc: "missing the 'response_type'",
					form: spa(func(v url.Values) { v.Del("response_type") })},
				{name: "fail/response-mode-form-post", code: "unsupported_response_mode", desc: "response_mode",
					form: spa(func(v url.Values) { v.Set("response_mode", "form_post") })},
				{name: "fail/response-mode-fragment", code: "unsupported_response_mode", desc: "response_mode",
					form: spa(func(v url.Values) { v.Set("response_mode", "fragment") })},
				{name: "fail/missing-pkce-public-client", code: "invalid_request", desc: "must use PKCE",
					form: spa(func(v url.Values) { v.Del("code_challenge"); v.Del("code_challenge_method") })},
				{name: "fail/pkce-plain", code: "invalid_request", desc: "plain is not supported",
					form: spa(func(v url.Values) { v.Set("code_challenge_method", "plain") })},
				{name: "fail/pkce-method-missing", code: "invalid_request", desc: "code_challenge_method must be S256",
					form: spa(func(v url.Values) { v.Del("code_challenge_method") })},
				{name: "fail/pkce-malformed-challenge", code: "invalid_request", desc: "43-character base64url",
					form: spa(func(v url.Values) { v.Set("code_challenge", "too-short") })},
				{name: "fail/request-object", code: "request_not_supported", desc: "request objects are not supported",
					form: spa(func(v url.Values) { v.Set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.") })},
				{name: "fail/request-uri", code: "request_uri_not_supported", desc: "request_uri is not supported",
					form: spa(func(v url.Values) { v.Set("request_uri", "https://attacker.example/request.jwt") })},
				{name: "fail/scope-not-allowed", code: "invalid_scope", desc: "'actas:audit'",
					form: spa(func(v url.Values) { v.Set("scope", "openid actas:audit") })},
				{name: "fail/unknown-prompt", code: "invalid_request", desc: "'select_account' is not supported",
					form: spa(func(v url.Values) { v.Set("prompt", "select_account") })},
				{name: "fail/prompt-none-with-login", code: "invalid_request", desc: "prompt=none cannot be combined",
					form: spa(func(v url.Values) { v.Set("prompt", "none login") })},
				{name: "fail/max-age-not-a-number", code: "invalid_request", desc: "max_age",
					form: spa(func(v url.Values) { v.Set("max_age", "soon") })},
				{name: "fail/state-too-short", code: "invalid_request", desc: "'state' parameter must be at least 8",
					form: spa(func(v url.Values) { v.Set("state", "abc") })},
				{name: "fail/nonce-too-short", code: "invalid_request", desc: "'nonce' parameter must be at least 8",
					form: spa(func(v url.Values) { v.Set("nonce", "n") })},
				{name: "fail/duplicated-scope", code: "invalid_request", desc: "'scope' must not be included more than once",
					form: spa(func(v url.Values) { v.Add("scope", "email") })},
				// Each within its bound, but too long together for the sign-in page to resume.
				{name: "fail/parameters-too-long-together", code: "invalid_request", desc: "authorization request is too long",
					form: spa(func(v url.Values) {
						v.Set("state", strings.Repeat("é", 1024))
						v.Set("nonce", strings.Repeat("é", 1024))
					})},
				{name: "fail/prompt-none-not-logged-in", code: "login_required", desc: "not logged in",
					form: spa(func(v url.Values) { v.Set("prompt", "none") })},
			}
			for _, tc := range redirects {
				t.Run(tc.name, func(t *testing.T) {
					redirect := tc.redirect
					if redirect == "" {
						redirect = spaRedirect
					}
					wantAuthError(t, srv, get(tc.form), redirect, tc.form.Get("state"), tc.code, tc.desc)
				})
			}

			t.Run("ok/post-form", func(t *testing.T) {
				// RFC 6749 §3.1: the authorization endpoint also accepts POST; errors go the same way.
				v := spa(func(v url.Values) { v.Set("response_type", "token") })
				r := httpCall{method: http.MethodPost, path: "/oauth2/auth", form: v}.do(t, srv)
				wantAuthError(t, srv, r, spaRedirect, v.Get("state"), "unsupported_response_type", "'token'")
			})

			t.Run("ok/valid-request-goes-to-login", func(t *testing.T) {
				v := spa(func(v url.Values) {
					v.Set("response_mode", "query") // the code flow's default, accepted when explicit
					v.Set("ui_locales", "de fr")
					v.Set("unknown_parameter", "ignored")
				})
				r := get(v)
				loc, err := r.resp.Location()
				if r.resp.StatusCode != http.StatusSeeOther || err != nil || loc.Path != "/login" {
					t.Fatalf("status %d, Location %v: want the login page", r.resp.StatusCode, loc)
				}
			})

			t.Run("fail/consent-denied", func(t *testing.T) {
				b := newBrowser(t, srv.URL)
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid")
				p := b.get(a.url(srv))
				p = b.submit(p, map[string]string{"username": "dave", "password": "dave-demo-pass"})
				if !strings.HasSuffix(p.resp.Request.URL.Path, "/consent") {
					t.Fatalf("after login: %s, want the consent page", p.resp.Request.URL.Path)
				}
				p = b.submit(p, map[string]string{"action": "deny"})
				wantAuthError(t, srv, reply{resp: p.resp, body: []byte(p.body)}, spaRedirect, a.state, "access_denied", "denied")
			})

			t.Run("ok/loopback-redirect-any-port", func(t *testing.T) {
				// RFC 8252 §7.3: a native app's loopback redirect URI may use any port.
				a := newAuthRequest(config.DemoMobileClientID, "http://127.0.0.1:49152/callback", "openid")
				code := a.code(t, srv, newBrowser(t, srv.URL), "bob")
				wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(code)}.do(t, srv))
			})
		})
	}
}
