package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/actas-dev/actas/config"
)

// rp is a relying party built from off-the-shelf libraries: go-oidc for discovery and ID-token
// verification, x/oauth2 for the code flow with PKCE and refresh.
type rp struct {
	provider *oidc.Provider
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newRP(t *testing.T, srv *testServer, clientID, secret, redirect string, scopes ...string) *rp {
	t.Helper()
	p, err := oidc.NewProvider(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &rp{
		provider: p,
		oauth: &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
			RedirectURL: redirect, Scopes: scopes},
		verifier: p.Verifier(&oidc.Config{ClientID: clientID}),
	}
}

// codeFlow runs the authorization code flow with PKCE as user and returns the tokens.
func (r *rp) codeFlow(t *testing.T, b *browser, user string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	return r.codeFlowAs(t, b, user, user, extra...)
}

// codeFlowAs is codeFlow for a user whose password and TOTP secret are demo user cred's.
func (r *rp) codeFlowAs(t *testing.T, b *browser, user, cred string, extra ...oauth2.AuthCodeOption) (*oauth2.Token, *oidc.IDToken) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	state, nonce := "state-"+randHex(8), "nonce-"+randHex(8)
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)}, extra...)
	loc, err := b.loginAs(r.oauth.AuthCodeURL(state, opts...), user, cred)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	q := loc.Query()
	if q.Get("error") != "" {
		t.Fatalf("authorization error: %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != state {
		t.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != r.provider.Endpoint().AuthURL[:strings.Index(r.provider.Endpoint().AuthURL, "/oauth2")] {
		t.Fatalf("iss = %q (RFC 9207)", q.Get("iss"))
	}
	tok, err := r.oauth.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("code exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := r.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("id token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	return tok, idt
}

func TestOIDCEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			ctx := context.Background()
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback",
				oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess)

			t.Run("ok/code-pkce-password-user", func(t *testing.T) {
				tok, idt := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
				if idt.Subject != "u-alice" {
					t.Fatalf("sub = %q", idt.Subject)
				}
				var claims struct {
					AMR      []string `json:"amr"`
					AZP      string   `json:"azp"`
					SID      string   `json:"sid"`
					AuthTime int64    `json:"auth_time"`
					AtHash   string   `json:"at_hash"`
				}
				if err := idt.Claims(&claims); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(claims.AMR, []string{"pwd"}) || claims.AZP != config.DemoSPAClientID || claims.SID == "" || claims.AuthTime == 0 || claims.AtHash == "" {
					t.Fatalf("id token claims = %+v", claims)
				}
				if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
					t.Fatalf("at_hash: %v", err)
				}
				ui, err := spa.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil {
					t.Fatalf("userinfo: %v", err)
				}
				if ui.Subject != "u-alice" || ui.Email != "alice@example.com" {
					t.Fatalf("userinfo = %+v", ui)
				}
				if tok.RefreshToken == "" {
					t.Fatal("no refresh token with offline_access")
				}
				at := decodeJWT(t, tok.AccessToken)
				if at.header["typ"] != "at+jwt" || at.header["kid"] == nil {
					t.Fatalf("access token header = %v", at.header)
				}
				for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope", "auth_time", "amr"} {
					if at.claims[c] == nil {
						t.Fatalf("access token lacks %q: %v", c, at.claims)
					}
				}
			})

			t.Run("ok/code-pkce-totp-user", func(t *testing.T) {
				_, idt := spa.codeFlow(t, newBrowser(t, srv.URL), "sam")
				var claims struct {
					AMR []string `json:"amr"`
				}
				_ = idt.Claims(&claims)
				if !slices.Equal(claims.AMR, []string{"pwd", "otp", "mfa"}) {
					t.Fatalf("amr = %v", claims.AMR)
				}
			})

			t.Run("ok/refresh-rotation-and-reuse-detection", func(t *testing.T) {
				tok, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "bob")
				old := &oauth2.Token{RefreshToken: tok.RefreshToken}
				next, err := spa.oauth.TokenSource(ctx, old).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
					t.Fatal("refresh token not rotated")
				}
				if raw, _ := next.Extra("id_token").(string); raw != "" {
					if _, err := spa.verifier.Verify(ctx, raw); err != nil {
						t.Fatalf("refreshed id token: %v", err)
					}
				}
				// Replaying the used refresh token fails and revokes the whole grant (RFC 9700 §4.14).
				if _, err := spa.oauth.TokenSource(ctx, old).Token(); err == nil {
					t.Fatal("reused refresh token accepted")
				}
				if _, err := spa.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); err == nil {
					t.Fatal("grant not revoked after refresh token reuse")
				}
				if active := introspect(t, srv, next.AccessToken)["active"]; active != false {
					t.Fatalf("access token still active after reuse: %v", active)
				}
			})

			t.Run("ok/parallel-refresh-exactly-one-wins", func(t *testing.T) {
				tok, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
				const n = 8
				var wg sync.WaitGroup
				var mu sync.Mutex
				wins := 0
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := spa.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
							mu.Lock()
							wins++
							mu.Unlock()
						}
					}()
				}
				wg.Wait()
				if wins != 1 {
					t.Fatalf("%d parallel refreshes succeeded, want exactly 1", wins)
				}
			})

			t.Run("ok/client-credentials-introspection-revocation", func(t *testing.T) {
				cc := clientcredentials.Config{ClientID: config.DemoConsoleClientID, ClientSecret: config.DemoConsoleClientSecret,
					TokenURL: srv.URL + "/oauth2/token", Scopes: []string{"actas:impersonate"}}
				tok, err := cc.Token(ctx)
				if err != nil {
					t.Fatalf("client credentials: %v", err)
				}
				if sub := decodeJWT(t, tok.AccessToken).claims["sub"]; sub != config.DemoConsoleClientID {
					t.Fatalf("sub = %v, want the client id", sub)
				}
				ir := introspect(t, srv, tok.AccessToken)
				if ir["active"] != true || ir["client_id"] != config.DemoConsoleClientID || ir["scope"] != "actas:impersonate" {
					t.Fatalf("introspection = %v", ir)
				}
				// Another client cannot revoke it; its owner can.
				if code := revoke(t, srv, config.DemoAPIClientID, config.DemoAPIClientSecret, tok.AccessToken); code == http.StatusOK {
					if introspect(t, srv, tok.AccessToken)["active"] != true {
						t.Fatal("a foreign client revoked the token")
					}
				}
				if code := revoke(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret, tok.AccessToken); code != http.StatusOK {
					t.Fatalf("revoke: status %d", code)
				}
				if ir := introspect(t, srv, tok.AccessToken); len(ir) != 1 || ir["active"] != false {
					t.Fatalf("revoked token introspection = %v, want exactly {active:false}", ir)
				}
			})

			t.Run("ok/logout-ends-login-session", func(t *testing.T) {
				b := newBrowser(t, srv.URL)
				tok, _ := spa.codeFlow(t, b, "alice")
				raw, _ := tok.Extra("id_token").(string)
				u := srv.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {raw},
					"post_logout_redirect_uri": {"http://127.0.0.1:5555/"}, "state": {"bye"}}.Encode()
				p := b.get(u)
				loc, err := p.resp.Location()
				if err != nil || loc.Query().Get("state") != "bye" || !strings.HasPrefix(loc.String(), "http://127.0.0.1:5555/") {
					t.Fatalf("logout redirect = %v (%v), status %d", loc, err, p.resp.StatusCode)
				}
				// Logged out: prompt=none must now answer login_required.
				authURL := spa.oauth.AuthCodeURL("state-after-logout", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
					oauth2.SetAuthURLParam("prompt", "none"))
				p = b.get(authURL)
				loc, _ = p.resp.Location()
				if loc == nil || loc.Query().Get("error") != "login_required" {
					t.Fatalf("after logout prompt=none → %v", loc)
				}
			})
		})
	}
}

type jwtParts struct{ header, claims map[string]any }

func decodeJWT(t *testing.T, raw string) jwtParts {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %q", raw)
	}
	var p jwtParts
	for i, dst := range []*map[string]any{&p.header, &p.claims} {
		b, err := base64URLDecode(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func introspect(t *testing.T, srv *testServer, token string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(config.DemoAPIClientID, config.DemoAPIClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("introspection: status %d: %v", resp.StatusCode, err)
	}
	return out
}

func revoke(t *testing.T, srv *testServer, clientID, secret, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/revoke", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEdDSAIDTokenAtHash: with EdDSA ID tokens, at_hash is the left half of the SHA-512 of the
// access token, as relying parties check it (go-oidc here); fosite alone would use SHA-256.
func TestEdDSAIDTokenAtHash(t *testing.T) {
	srv := startServer(t, "memory", func(c *config.Config) { c.Tokens.IDTokenAlg = config.AlgEdDSA })
	spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID, oidc.ScopeOfflineAccess)
	tok, idt := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
	var claims struct {
		AtHash string `json:"at_hash"`
	}
	if err := idt.Claims(&claims); err != nil || claims.AtHash == "" {
		t.Fatalf("at_hash missing: %v", err)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Fatalf("at_hash of an EdDSA ID token: %v", err)
	}
	next, err := spa.oauth.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := next.Extra("id_token").(string)
	refreshed, err := spa.verifier.Verify(context.Background(), raw)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if err := refreshed.VerifyAccessToken(next.AccessToken); err != nil {
		t.Fatalf("at_hash of a refreshed EdDSA ID token: %v", err)
	}
}
