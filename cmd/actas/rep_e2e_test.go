package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
)

// repAPICall calls actas's API with a bearer token and decodes the JSON answer.
func repAPICall(t *testing.T, srv *testServer, method, path, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// repLogoutReceiver is a relying party's back-channel logout endpoint verifying logout tokens with
// go-oidc (discovery and keys of the server under test).
type repLogoutReceiver struct {
	srv      *httptest.Server
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	sids     []string
	errs     []string
}

func newRepLogoutReceiver(t *testing.T) *repLogoutReceiver {
	r := &repLogoutReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		v := r.verifier
		r.mu.Unlock()
		raw := req.PostFormValue("logout_token")
		lt, err := v.VerifyLogout(req.Context(), raw)
		typ := ""
		if err == nil {
			typ, _ = decodeJWT(t, raw).header["typ"].(string)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil || typ != exchange.LogoutTokenType || lt.Subject != "" {
			r.errs = append(r.errs, "refused logout token")
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.sids = append(r.sids, lt.SessionID)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// waitFor polls until the receiver got a logout token for sid.
func (r *repLogoutReceiver) waitFor(t *testing.T, sid string) {
	t.Helper()
	for range 400 { // 20 s: the delivery runs in the background, after the receiver's first JWKS fetch
		r.mu.Lock()
		for _, s := range r.sids {
			if s == sid {
				r.mu.Unlock()
				return
			}
		}
		errs := r.errs
		r.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("the receiver refused a logout token: %v", errs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no back-channel logout for %s", sid)
}

// TestRepresentationEndToEnd follows docs/representations.md against the dev configuration on
// each backend: an agent impersonates a customer, a second impersonation is refused naming the
// session, the customer stops it with their own token, introspection turns false and the
// back-channel logout reaches the console; the agent's logout ends the next one; the customer
// sees both in /api/v1/me/representations.
func TestRepresentationEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			rx := newRepLogoutReceiver(t)
			srv := startServer(t, backend, func(c *config.Config) {
				for i := range c.Clients {
					if c.Clients[i].ID == config.DemoConsoleClientID {
						c.Clients[i].BackchannelLogoutURI = rx.srv.URL + "/backchannel-logout"
					}
				}
			})
			if status, _ := repAPICall(t, srv, http.MethodGet, "/api/v1/me/representations", ""); status == http.StatusNotFound {
				t.Fatal("representation sessions are not wired into cmd/actas")
			}
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
			rx.mu.Lock()
			rx.verifier = console.provider.Verifier(&oidc.Config{ClientID: config.DemoConsoleClientID})
			rx.mu.Unlock()
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID)
			samBrowser := newBrowser(t, srv.URL)
			sam, _ := console.codeFlow(t, samBrowser, "sam")
			bob, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "bob")
			secret := config.DemoConsoleClientSecret
			impersonate := func(target string) (int, map[string]any) {
				return exchangeCall(t, srv, config.DemoConsoleClientID, secret, url.Values{
					"subject_token": {target}, "subject_token_type": {exchange.TokenTypeUserID},
					"actor_token": {sam.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
					"scope": {"impersonation openid"}, "reason": {"customer asked for help with an order"}, "ticket": {"SUP-1"}})
			}

			status, body := impersonate("u-bob")
			if status != http.StatusOK {
				t.Fatalf("impersonation: %d %v", status, body)
			}
			tok := body["access_token"].(string)
			sid, _ := decodeJWT(t, tok).claims["sid"].(string)
			if sid == "" {
				t.Fatalf("no sid in %v", decodeJWT(t, tok).claims)
			}

			// A second impersonation of another customer is refused, naming the active session.
			status, body = impersonate("u-alice")
			desc, _ := body["error_description"].(string)
			if status != http.StatusBadRequest || body["reason_code"] != exchange.CodeActiveRepresentation ||
				!strings.Contains(desc, sid) || !strings.Contains(desc, "u-bob") {
				t.Fatalf("second impersonation: %d %v", status, body)
			}
			// The impersonation token cannot act as bob at actas's own API.
			if status, _ := repAPICall(t, srv, http.MethodPost, "/api/v1/representations/"+sid+"/stop", tok); status != http.StatusForbidden {
				t.Fatalf("stop with the impersonation token: %d", status)
			}
			if in := introspect(t, srv, tok); in["active"] != true || in["sid"] != sid {
				t.Fatalf("introspection: %v", in)
			}

			// bob stops it with his own token.
			status, body = repAPICall(t, srv, http.MethodPost, "/api/v1/representations/"+sid+"/stop", bob.AccessToken)
			if status != http.StatusOK || body["active"] != false || body["end_reason"] != exchange.EndStoppedByTarget {
				t.Fatalf("stop by the target: %d %v", status, body)
			}
			if in := introspect(t, srv, tok); in["active"] != false {
				t.Fatalf("introspection after the stop: %v", in)
			}
			rx.waitFor(t, sid)

			// The agent's logout (RP-initiated logout) ends the next representation.
			status, body = impersonate("u-alice")
			if status != http.StatusOK {
				t.Fatalf("impersonation after the stop: %d %v", status, body)
			}
			tok2 := body["access_token"].(string)
			sid2, _ := decodeJWT(t, tok2).claims["sid"].(string)
			rawID, _ := sam.Extra("id_token").(string)
			if p := samBrowser.get(srv.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {rawID}}.Encode()); p.resp.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", p.resp.StatusCode)
			}
			status, body = repAPICall(t, srv, http.MethodGet, "/api/v1/representations/"+sid2, sam.AccessToken)
			if status != http.StatusOK || body["end_reason"] != exchange.EndActorLogout {
				t.Fatalf("after the agent's logout: %d %v", status, body)
			}
			if in := introspect(t, srv, tok2); in["active"] != false {
				t.Fatalf("introspection after the agent's logout: %v", in)
			}
			rx.waitFor(t, sid2)

			// bob sees who acted as him, when and why.
			status, body = repAPICall(t, srv, http.MethodGet, "/api/v1/me/representations", bob.AccessToken)
			list, _ := body["representations"].([]any)
			if status != http.StatusOK || len(list) != 1 {
				t.Fatalf("me: %d %v", status, body)
			}
			if v := list[0].(map[string]any); v["actor"] != "u-sam" || v["id"] != sid || v["reason"] == nil {
				t.Fatalf("me: %v", v)
			}
		})
	}
}
