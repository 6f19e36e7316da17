package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/config"
)

// TestAuthorizePromptAndHints covers OIDC Core §3.1.2.1 request parameters that steer login and
// consent: prompt (none, login, consent), max_age, id_token_hint and login_hint, through the real
// login and consent pages.
func TestAuthorizePromptAndHints(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Parallel() // the backends run side by side: this test waits for auth_time to move on
			srv := startServer(t, backend, nil)
			spa := func(mutate func(*authRequest)) *authRequest {
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid profile")
				if mutate != nil {
					mutate(a)
				}
				return a
			}
			// idToken redeems a code of a and returns the ID token's claims and raw value.
			idToken := func(t *testing.T, a *authRequest, code string) (map[string]any, string) {
				t.Helper()
				tr := wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(code)}.do(t, srv))
				return decodeJWT(t, tr.IDToken).claims, tr.IDToken
			}
			// codeFromRedirect reads the code of an authorization answer after the pages.
			codeFromRedirect := func(t *testing.T, p page, a *authRequest) string {
				t.Helper()
				if p.resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("status %d at %s, want the redirect to the client: %s", p.resp.StatusCode, p.resp.Request.URL.Path, truncateForLog(p.body))
				}
				loc, _ := p.resp.Location()
				if q := loc.Query(); q.Get("code") == "" || q.Get("state") != a.state || q.Get("iss") != srv.URL {
					t.Fatalf("authorization answer %s", loc)
				}
				return loc.Query().Get("code")
			}
			wantPage := func(t *testing.T, p page, path string) {
				t.Helper()
				if p.resp.StatusCode != http.StatusOK || p.resp.Request.URL.Path != path || !formRe.MatchString(p.body) {
					t.Fatalf("status %d at %s, want the form at %s", p.resp.StatusCode, p.resp.Request.URL.Path, path)
				}
			}
			password := func(user string) map[string]string {
				return map[string]string{"username": user, "password": user + "-demo-pass"}
			}
			// silent asks with prompt=none and returns the raw answer.
			silent := func(b *browser, a *authRequest) reply {
				a.extra.Set("prompt", "none")
				p := b.get(a.url(srv))
				return reply{resp: p.resp, body: []byte(p.body)}
			}

			alice := newBrowser(t, srv.URL)
			first := spa(nil)
			firstClaims, aliceIDToken := idToken(t, first, first.code(t, srv, alice, "alice")) // logs in and consents
			bobClaims, bobIDToken := func() (map[string]any, string) {
				a := newAuthRequest(config.DemoMobileClientID, "http://127.0.0.1/callback", "openid")
				return idToken(t, a, a.code(t, srv, newBrowser(t, srv.URL), "bob"))
			}()
			if firstClaims["sub"] != "u-alice" || bobClaims["sub"] != "u-bob" {
				t.Fatalf("subjects %v, %v", firstClaims["sub"], bobClaims["sub"])
			}

			t.Run("ok/prompt-none-logged-in-with-consent", func(t *testing.T) {
				a := spa(nil)
				r := silent(alice, a)
				codeFromRedirect(t, page{resp: r.resp, body: string(r.body)}, a)
			})
			t.Run("fail/prompt-none-not-logged-in", func(t *testing.T) {
				a := spa(nil)
				wantAuthError(t, srv, silent(newBrowser(t, srv.URL), a), spaRedirect, a.state, "login_required", "not logged in")
			})
			t.Run("fail/prompt-none-consent-missing", func(t *testing.T) {
				carol := newBrowser(t, srv.URL)
				console := newAuthRequest(config.DemoConsoleClientID, consoleRedirect, "openid")
				console.code(t, srv, carol, "carol") // first-party: logged in, no consent asked
				a := spa(nil)
				wantAuthError(t, srv, silent(carol, a), spaRedirect, a.state, "consent_required", "not approved")
			})
			t.Run("ok/unknown-parameters-ignored", func(t *testing.T) {
				a := spa(func(a *authRequest) {
					a.extra.Set("ui_locales", "de-CH fr")
					a.extra.Set("claims_locales", "de")
					a.extra.Set("display", "page")
					a.extra.Set("x_vendor_extension", "whatever")
				})
				a.code(t, srv, alice, "alice")
			})
			t.Run("ok/prompt-consent-shows-consent-again", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("prompt", "consent") })
				p := alice.get(a.url(srv))
				wantPage(t, p, "/consent")
				codeFromRedirect(t, alice.submit(p, map[string]string{"action": "approve"}), a)
			})
			t.Run("ok/max-age-not-exceeded", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("max_age", "3600") })
				a.code(t, srv, alice, "alice")
			})
			// Parameters too long together for the sign-in page's return_to are refused only when
			// a page must be shown: a silent request of a signed-in user still gets its code.
			t.Run("ok/long-parameters-need-no-page", func(t *testing.T) {
				a := spa(func(a *authRequest) {
					a.state = strings.Repeat("é", 1024)
					a.extra.Set("nonce", strings.Repeat("é", 1024))
				})
				r := silent(alice, a)
				codeFromRedirect(t, page{resp: r.resp, body: string(r.body)}, a)
			})
			// Beyond time.Duration (292 years): no limit, for actas and for fosite's own check.
			t.Run("ok/max-age-huge", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("max_age", "9223372037") })
				a.code(t, srv, alice, "alice")
			})
			t.Run("ok/id-token-hint-same-user-prompt-none", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("id_token_hint", aliceIDToken) })
				r := silent(alice, a)
				codeFromRedirect(t, page{resp: r.resp, body: string(r.body)}, a)
			})
			t.Run("fail/id-token-hint-other-user-prompt-none", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("id_token_hint", bobIDToken) })
				wantAuthError(t, srv, silent(alice, a), spaRedirect, a.state, "login_required", "must log in again")
			})
			t.Run("fail/id-token-hint-forged-prompt-none", func(t *testing.T) {
				parts := strings.Split(aliceIDToken, ".")
				forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
				a := spa(func(a *authRequest) { a.extra.Set("id_token_hint", forged) })
				wantAuthError(t, srv, silent(alice, a), spaRedirect, a.state, "login_required", "must log in again")
			})
			t.Run("ok/login-hint-prefills-username", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("login_hint", "bob") })
				p := newBrowser(t, srv.URL).get(a.url(srv))
				wantPage(t, p, "/login")
				if !regexp.MustCompile(`<input[^>]*name="username"[^>]*value="bob"|<input[^>]*value="bob"[^>]*name="username"`).MatchString(p.body) {
					t.Fatalf("username not pre-filled with the login_hint: %s", truncateForLog(p.body))
				}
			})

			// auth_time has a resolution of one second: let it move on before logging in again.
			if wait := time.Until(time.Unix(int64(firstClaims["auth_time"].(float64))+1, 0).Add(50 * time.Millisecond)); wait > 0 {
				time.Sleep(wait)
			}
			t.Run("ok/prompt-login-forces-login", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("prompt", "login") })
				p := alice.get(a.url(srv))
				wantPage(t, p, "/login")
				claims, _ := idToken(t, a, codeFromRedirect(t, alice.submit(p, password("alice")), a))
				if claims["sub"] != "u-alice" || claims["auth_time"].(float64) <= firstClaims["auth_time"].(float64) {
					t.Fatalf("auth_time %v not after the first login's %v", claims["auth_time"], firstClaims["auth_time"])
				}
			})
			t.Run("ok/max-age-0-forces-login", func(t *testing.T) {
				a := spa(func(a *authRequest) { a.extra.Set("max_age", "0") })
				p := alice.get(a.url(srv))
				wantPage(t, p, "/login")
				claims, _ := idToken(t, a, codeFromRedirect(t, alice.submit(p, password("alice")), a))
				if claims["auth_time"].(float64) <= firstClaims["auth_time"].(float64) {
					t.Fatalf("auth_time %v not after the first login's %v", claims["auth_time"], firstClaims["auth_time"])
				}
			})
			t.Run("ok/id-token-hint-other-user-forces-login", func(t *testing.T) {
				// The last case: the browser ends logged in as bob.
				a := newAuthRequest(config.DemoMobileClientID, "http://127.0.0.1/callback", "openid")
				a.extra.Set("id_token_hint", bobIDToken)
				p := alice.get(a.url(srv))
				wantPage(t, p, "/login")
				claims, _ := idToken(t, a, codeFromRedirect(t, alice.submit(p, password("bob")), a))
				if claims["sub"] != "u-bob" {
					t.Fatalf("sub = %v, want u-bob", claims["sub"])
				}
			})
		})
	}
}
