package config

import (
	"strings"
	"testing"
)

func TestValidateClients(t *testing.T) {
	t.Parallel()
	// Client indexes in the demo data: 0 demo-spa (public), 1 demo-mobile (public),
	// 2 demo-console (confidential), 3 demo-api (confidential, client_credentials only).
	cl := func(i int, mut func(c *Client)) func(*Config) { return func(c *Config) { mut(&c.Clients[i]) } }
	redirect := func(uri string) func(*Config) {
		return cl(0, func(c *Client) { c.RedirectURIs = []string{"https://app.example.com/cb", uri} })
	}
	runValidate(t, []vcase{
		// identity
		{"fail/id-empty", cl(1, func(c *Client) { c.ID = "" }), "clients[1].id"},
		{"fail/id-with-space", cl(1, func(c *Client) { c.ID = "demo mobile" }), "clients[1].id"},
		{"fail/id-used-twice", cl(3, func(c *Client) { c.ID = DemoSPAClientID }), "clients[3].id"},

		// public XOR secret (RFC 6749 §2.1)
		{"ok/confidential-secret-32-bytes", cl(2, func(c *Client) { c.Secret = strings.Repeat("s", 32) }), ""},
		{"fail/public-with-secret", cl(0, func(c *Client) { c.Secret = strings.Repeat("s", 32) }), "clients[0].secret"},
		{"fail/confidential-without-secret", cl(2, func(c *Client) { c.Secret = "" }), "clients[2].secret"},
		{"fail/confidential-secret-31-bytes", cl(2, func(c *Client) { c.Secret = strings.Repeat("s", 31) }), "clients[2].secret"},
		{"fail/secret-file-not-read", cl(2, func(c *Client) { c.Secret = ""; c.SecretFile = "/run/s" }), "clients[2].secret_file"},

		// grant types
		{"ok/token-exchange-for-public", cl(0, func(c *Client) { c.GrantTypes = append(c.GrantTypes, GrantTypeTokenExchange) }), ""},
		{"ok/client-credentials-only-without-redirect", cl(3, func(c *Client) { c.RedirectURIs = nil }), ""},
		{"fail/no-grant-types", cl(2, func(c *Client) { c.GrantTypes = nil }), "clients[2].grant_types"},
		{"fail/password-grant", cl(2, func(c *Client) { c.GrantTypes = []string{"password"} }), "clients[2].grant_types[0]"},
		{"fail/implicit-grant", cl(0, func(c *Client) { c.GrantTypes = []string{"authorization_code", "implicit"} }), "clients[0].grant_types[1]"},
		{"fail/public-client-credentials", cl(0, func(c *Client) { c.GrantTypes = []string{GrantTypeClientCredentials} }), "clients[0].grant_types[0]"},
		{"fail/code-without-redirect-uri", cl(2, func(c *Client) { c.RedirectURIs = nil }), "clients[2].redirect_uris"},

		// redirect URIs (RFC 6749 §3.1.2, RFC 8252 §7)
		{"ok/https", redirect("https://app.example.com/other?x=1"), ""},
		{"ok/http-loopback-ipv6", redirect("http://[::1]:8000/cb"), ""},
		{"ok/http-localhost", redirect("http://localhost/cb"), ""},
		{"ok/private-use-scheme", redirect("com.example.app:/oauth2redirect"), ""},
		{"fail/relative", redirect("/callback"), "clients[0].redirect_uris[1]"},
		{"fail/empty", redirect(""), "clients[0].redirect_uris[1]"},
		{"fail/with-space", redirect("https://app.example.com/a b"), "clients[0].redirect_uris[1]"},
		{"fail/fragment", redirect("https://app.example.com/cb#frag"), "clients[0].redirect_uris[1]"},
		{"fail/empty-fragment", redirect("https://app.example.com/cb#"), "clients[0].redirect_uris[1]"},
		{"fail/http-not-loopback", redirect("http://app.example.com/cb"), "clients[0].redirect_uris[1]"},
		{"fail/http-loopback-lookalike", redirect("http://127.0.0.1.example.com/cb"), "clients[0].redirect_uris[1]"},
		{"fail/wildcard", redirect("https://*.example.com/cb"), "clients[0].redirect_uris[1]"},
		{"fail/https-without-host", redirect("https:/cb"), "clients[0].redirect_uris[1]"},
		{"fail/scheme-without-dot", redirect("myapp:/cb"), "clients[0].redirect_uris[1]"},
		{"fail/javascript", redirect("javascript:alert(1)"), "clients[0].redirect_uris[1]"},
		{"fail/data", redirect("data:text/html,hi"), "clients[0].redirect_uris[1]"},
		{"fail/post-logout-http", cl(0, func(c *Client) { c.PostLogoutRedirectURIs = []string{"http://app.example.com/"} }), "clients[0].post_logout_redirect_uris[0]"},
		{"fail/handoff-relative", cl(1, func(c *Client) { c.HandoffURIs = []string{"handoff"} }), "clients[1].handoff_uris[0]"},

		// back-channel logout
		{"ok/backchannel-https", cl(2, func(c *Client) { c.BackchannelLogoutURI = "https://console.example.com/logout" }), ""},
		{"ok/backchannel-loopback", cl(2, func(c *Client) { c.BackchannelLogoutURI = "http://127.0.0.1:5556/logout" }), ""},
		{"fail/backchannel-http", cl(2, func(c *Client) { c.BackchannelLogoutURI = "http://console.example.com/logout" }), "clients[2].backchannel_logout_uri"},
		{"fail/backchannel-fragment", cl(2, func(c *Client) { c.BackchannelLogoutURI = "https://c.example.com/l#x" }), "clients[2].backchannel_logout_uri"},
		{"fail/backchannel-relative", cl(2, func(c *Client) { c.BackchannelLogoutURI = "/logout" }), "clients[2].backchannel_logout_uri"},

		// scopes, audience, algorithms, lifespans
		{"ok/no-scopes", cl(2, func(c *Client) { c.Scopes = nil }), ""},
		{"fail/scope-empty", cl(2, func(c *Client) { c.Scopes = []string{"openid", ""} }), "clients[2].scopes[1]"},
		{"fail/scope-with-space", cl(2, func(c *Client) { c.Scopes = []string{"openid profile"} }), "clients[2].scopes[0]"},
		{"fail/scope-with-quote", cl(2, func(c *Client) { c.Scopes = []string{`a"b`} }), "clients[2].scopes[0]"},
		{"fail/scope-with-backslash", cl(2, func(c *Client) { c.Scopes = []string{`a\b`} }), "clients[2].scopes[0]"},
		{"fail/audience-empty", cl(2, func(c *Client) { c.Audience = []string{""} }), "clients[2].audience[0]"},
		{"ok/id-token-alg", cl(2, func(c *Client) { c.IDTokenSigningAlg = AlgES256 }), ""},
		{"fail/id-token-alg-hs256", cl(2, func(c *Client) { c.IDTokenSigningAlg = "HS256" }), "clients[2].id_token_signing_alg"},
		{"ok/lifespans", cl(2, func(c *Client) { c.Lifespans = Lifespans{AccessToken: 60e9, RefreshToken: 0, IDToken: 60e9} }), ""},
		{"fail/lifespan-negative", cl(2, func(c *Client) { c.Lifespans.RefreshToken = -1 }), "clients[2].lifespans.refresh_token"},

		// token exchange (RFC 8693)
		{"fail/exchange-for-unknown-client", cl(2, func(c *Client) { c.ExchangeFor = []string{DemoSPAClientID, "nope"} }), "clients[2].exchange_for[1]"},
		{"fail/exchange-for-without-grant", cl(3, func(c *Client) { c.ExchangeFor = []string{DemoSPAClientID} }), "clients[3].exchange_for"},
	})
}

func TestCheckRedirectURIMessages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ uri, want string }{
		{"http://app.example.com/cb", "RFC 8252 §7.3"},
		{"myapp:/cb", "RFC 8252 §7.1"},
		{"https://a.example.com/#x", "RFC 6749 §3.1.2"},
	} {
		if got := checkRedirectURI(tc.uri); !strings.Contains(got, tc.want) {
			t.Errorf("checkRedirectURI(%q) = %q; want it to cite %s", tc.uri, got, tc.want)
		}
	}
}
