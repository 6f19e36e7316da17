package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/actas-dev/actas/config"
)

// TestLogoutBadRequests covers OIDC RP-Initiated Logout 1.0: what may redirect, what must be
// confirmed, and that another site can neither confirm nor forge a sign-out.
func TestLogoutBadRequests(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			const spaPostLogout = "http://127.0.0.1:5555/"
			// loggedIn returns a browser logged in as user and an ID token of the SPA for it.
			loggedIn := func(t *testing.T, user string) (*browser, string) {
				b := newBrowser(t, srv.URL)
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid")
				tr := wantToken(t, httpCall{method: http.MethodPost, path: "/oauth2/token", form: a.redeem(a.code(t, srv, b, user))}.do(t, srv))
				return b, tr.IDToken
			}
			// stillLoggedIn reports whether b's login session is alive (prompt=none succeeds).
			stillLoggedIn := func(t *testing.T, b *browser) bool {
				a := newAuthRequest(config.DemoSPAClientID, spaRedirect, "openid")
				a.extra.Set("prompt", "none")
				p := b.get(a.url(srv))
				loc, err := p.resp.Location()
				if err != nil {
					t.Fatalf("prompt=none: status %d, no redirect", p.resp.StatusCode)
				}
				switch q := loc.Query(); {
				case q.Get("code") != "":
					return true
				case q.Get("error") == "login_required":
					return false
				default:
					t.Fatalf("prompt=none: %s", loc)
				}
				return false
			}
			logoutURL := func(v url.Values) string { return srv.URL + "/oauth2/logout?" + v.Encode() }
			wantRefused := func(t *testing.T, p page, desc string) {
				t.Helper()
				if loc := p.resp.Header.Get("Location"); loc != "" {
					t.Fatalf("redirected to %s", loc)
				}
				wantError(t, reply{resp: p.resp, body: []byte(p.body)}, http.StatusBadRequest, "invalid_request", desc)
			}
			alice, aliceIDToken := loggedIn(t, "alice")
			_, bobIDToken := loggedIn(t, "bob")

			t.Run("fail/unregistered-post-logout-redirect-uri", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"id_token_hint": {aliceIDToken}, "post_logout_redirect_uri": {"https://attacker.example/"}}))
				wantRefused(t, p, "not registered for this client")
				if !stillLoggedIn(t, alice) {
					t.Fatal("a refused logout ended the session")
				}
			})
			t.Run("fail/redirect-uri-of-another-client", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"id_token_hint": {aliceIDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5556/"}}))
				wantRefused(t, p, "not registered for this client")
			})
			t.Run("fail/redirect-uri-without-client", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"post_logout_redirect_uri": {spaPostLogout}}))
				wantRefused(t, p, "needs id_token_hint or client_id")
			})
			t.Run("fail/forged-id-token-hint", func(t *testing.T) {
				parts := strings.Split(aliceIDToken, ".")
				forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))
				p := alice.get(logoutURL(url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {spaPostLogout}}))
				wantRefused(t, p, "not an ID token issued by this server")
				if !stillLoggedIn(t, alice) {
					t.Fatal("a forged hint ended the session")
				}
			})
			t.Run("fail/client-id-not-the-hint-audience", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"id_token_hint": {aliceIDToken}, "client_id": {config.DemoConsoleClientID}}))
				wantRefused(t, p, "client_id does not match")
			})
			t.Run("ok/hint-of-another-user-asks-first", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"id_token_hint": {bobIDToken}}))
				if p.resp.StatusCode != http.StatusOK || !strings.Contains(p.body, "Sign out?") {
					t.Fatalf("status %d: %s, want the confirmation page", p.resp.StatusCode, truncateForLog(p.body))
				}
				if !stillLoggedIn(t, alice) {
					t.Fatal("another user's ID token ended alice's session without asking")
				}
			})

			t.Run("fail/cross-origin-confirmation", func(t *testing.T) {
				b, _ := loggedIn(t, "carol")
				page := b.get(srv.URL + "/oauth2/logout")
				csrf := ""
				for _, in := range inputRe.FindAllString(page.body, -1) {
					attrs := map[string]string{}
					for _, a := range attrRe.FindAllStringSubmatch(in, -1) {
						attrs[a[1]] = a[2]
					}
					if attrs["name"] == "csrf" {
						csrf = attrs["value"]
					}
				}
				if csrf == "" {
					t.Fatalf("no csrf field on the confirmation page: %s", truncateForLog(page.body))
				}
				for name, hdr := range map[string]map[string]string{
					"origin":         {"Origin": "https://attacker.example"},
					"sec-fetch-site": {"Sec-Fetch-Site": "cross-site"},
				} {
					req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/logout",
						strings.NewReader(url.Values{"confirm": {"yes"}, "csrf": {csrf}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					for k, v := range hdr {
						req.Header.Set(k, v)
					}
					resp, err := b.c.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					r := b.read(resp)
					if r.resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s: status %d, want 403", name, r.resp.StatusCode)
					}
				}
				// Same origin but without the session's CSRF token (a forged form): refused too.
				p := b.submit(page, map[string]string{"csrf": "forged"})
				if p.resp.StatusCode != http.StatusForbidden {
					t.Errorf("forged csrf: status %d, want 403", p.resp.StatusCode)
				}
				if !stillLoggedIn(t, b) {
					t.Fatal("a refused confirmation ended the session")
				}
			})

			t.Run("ok/no-hint-confirmation-then-same-origin-post", func(t *testing.T) {
				b, _ := loggedIn(t, "dave")
				p := b.get(srv.URL + "/oauth2/logout?" + url.Values{"client_id": {config.DemoSPAClientID},
					"post_logout_redirect_uri": {spaPostLogout}, "state": {"s-123"}}.Encode())
				if p.resp.StatusCode != http.StatusOK || !strings.Contains(p.body, "Sign out?") {
					t.Fatalf("status %d: %s, want the confirmation page", p.resp.StatusCode, truncateForLog(p.body))
				}
				if !stillLoggedIn(t, b) {
					t.Fatal("the confirmation page alone ended the session")
				}
				p = b.submit(p, nil)
				loc, err := p.resp.Location()
				if err != nil || !strings.HasPrefix(loc.String(), spaPostLogout) || loc.Query().Get("state") != "s-123" {
					t.Fatalf("after confirming: status %d, Location %v", p.resp.StatusCode, loc)
				}
				if stillLoggedIn(t, b) {
					t.Fatal("the session survived the confirmed logout")
				}
			})

			t.Run("ok/hint-of-logged-in-user-ends-at-once", func(t *testing.T) {
				p := alice.get(logoutURL(url.Values{"id_token_hint": {aliceIDToken}, "post_logout_redirect_uri": {spaPostLogout}, "state": {"bye"}}))
				loc, err := p.resp.Location()
				if err != nil || loc.Query().Get("state") != "bye" {
					t.Fatalf("status %d, Location %v", p.resp.StatusCode, loc)
				}
				if stillLoggedIn(t, alice) {
					t.Fatal("the session survived the logout")
				}
			})
		})
	}
}
