package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
)

// exchangeCall posts a token-exchange request as clientID over real HTTP.
func exchangeCall(t *testing.T, srv *testServer, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	form.Set("grant_type", exchange.GrantType)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token endpoint: status %d, body not JSON: %v", resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// grantAdvertised reports whether the server wires the token-exchange grant (discovery says so).
func grantAdvertised(t *testing.T, srv *testServer) bool {
	t.Helper()
	resp, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		GrantTypes []string `json:"grant_types_supported"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return slices.Contains(doc.GrantTypes, exchange.GrantType)
}

// TestTokenExchangeEndToEnd follows docs/exchange.md against the dev configuration on each
// backend: an agent and a customer log in through the real login pages; the support console
// downscopes and delegates the customer's token and impersonates customers; act (and sid) are
// visible in the JWT and in introspection; denials carry their reason code.
func TestTokenExchangeEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			// The dev policy allows impersonation tokens for the dev issuer; the test server has its own.
			srv := startServer(t, backend, func(c *config.Config) {

			})
			if !grantAdvertised(t, srv) {
				t.Fatal("the token-exchange grant is not advertised in discovery")
			}
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID)
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback",
				oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
			agent, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
			customer, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
			secret := config.DemoConsoleClientSecret

			t.Run("ok/downscoping", func(t *testing.T) {
				status, body := exchangeCall(t, srv, config.DemoConsoleClientID, secret, url.Values{
					"subject_token": {customer.AccessToken}, "subject_token_type": {exchange.TokenTypeAccessToken},
					"scope": {"openid"}, "audience": {"https://api.example.com"}})
				if status != http.StatusOK || body["issued_token_type"] != exchange.TokenTypeAccessToken {
					t.Fatalf("%d %v", status, body)
				}
				at := decodeJWT(t, body["access_token"].(string))
				if at.claims["sub"] != "u-alice" || at.claims["scope"] != "openid" || at.claims["act"] != nil ||
					!reflect.DeepEqual(at.claims["aud"], []any{"https://api.example.com"}) {
					t.Fatalf("claims %v", at.claims)
				}
			})

			t.Run("ok/delegation", func(t *testing.T) {
				status, body := exchangeCall(t, srv, config.DemoConsoleClientID, secret, url.Values{
					"subject_token": {customer.AccessToken}, "subject_token_type": {exchange.TokenTypeAccessToken},
					"actor_token": {agent.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken}})
				if status != http.StatusOK {
					t.Fatalf("%d %v", status, body)
				}
				tok := body["access_token"].(string)
				want := map[string]any{"sub": "u-sam"}
				if at := decodeJWT(t, tok); at.claims["sub"] != "u-alice" || !reflect.DeepEqual(at.claims["act"], want) {
					t.Fatalf("claims %v", at.claims)
				}
				if in := introspect(t, srv, tok); in["active"] != true || !reflect.DeepEqual(in["act"], want) {
					t.Fatalf("introspection %v", in)
				}
			})

			t.Run("fail/client-not-registered-for-grant", func(t *testing.T) {
				status, body := exchangeCall(t, srv, config.DemoAPIClientID, config.DemoAPIClientSecret, url.Values{
					"subject_token": {customer.AccessToken}, "subject_token_type": {exchange.TokenTypeAccessToken}})
				if status != http.StatusBadRequest || body["error"] != "unauthorized_client" {
					t.Fatalf("%d %v", status, body)
				}
			})

			t.Run("fail/opted-out-target", func(t *testing.T) {
				status, body := exchangeCall(t, srv, config.DemoConsoleClientID, secret, url.Values{
					"subject_token": {"u-dave"}, "subject_token_type": {exchange.TokenTypeUserID},
					"actor_token": {agent.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
					"scope": {"impersonation openid"}, "reason": {"customer asked for help with an order"}})
				desc, _ := body["error_description"].(string)
				if status != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.Contains(desc, "[reason=target_opted_out]") {
					t.Fatalf("%d %v", status, body)
				}
			})

			t.Run("ok/impersonation", func(t *testing.T) {
				status, body := exchangeCall(t, srv, config.DemoConsoleClientID, secret, url.Values{
					"subject_token": {"u-bob"}, "subject_token_type": {exchange.TokenTypeUserID},
					"actor_token": {agent.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
					"scope": {"impersonation openid"}, "reason": {"customer asked for help with an order"}, "ticket": {"SUP-1"}})
				if status != http.StatusOK {
					t.Fatalf("%d %v", status, body)
				}
				tok := body["access_token"].(string)
				at := decodeJWT(t, tok)
				if at.claims["sub"] != "u-bob" || !reflect.DeepEqual(at.claims["act"], map[string]any{"sub": "u-sam"}) ||
					at.claims["sid"] == nil || strings.Contains(body["scope"].(string), "impersonation") {
					t.Fatalf("claims %v, response %v", at.claims, body)
				}
				if in := introspect(t, srv, tok); in["active"] != true || in["sid"] != at.claims["sid"] {
					t.Fatalf("introspection %v", in)
				}
			})
		})
	}
}
