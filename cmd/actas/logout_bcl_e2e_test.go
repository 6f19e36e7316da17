package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/actas-dev/actas/config"
)

// TestLoginBackchannelLogout: the end of a user's own login session (RP-initiated logout, sign out
// everywhere) sends a back-channel logout whose sid is the one the session's ID tokens carry to
// every client that received an authorization response under that session and registered a
// backchannel_logout_uri; a client that did not hears nothing of it. Signing in again as the same
// user (a step-up) is not an end and keeps the sid; a logout hint from another session asks first.
// The relying parties verify the logout tokens with go-oidc.
func TestLoginBackchannelLogout(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			consoleRx, spaRx := newRepLogoutReceiver(t), newRepLogoutReceiver(t)
			srv := startServer(t, backend, func(c *config.Config) {
				for i := range c.Clients {
					switch c.Clients[i].ID {
					case config.DemoConsoleClientID:
						c.Clients[i].BackchannelLogoutURI = consoleRx.srv.URL + "/backchannel-logout"
					case config.DemoSPAClientID:
						c.Clients[i].BackchannelLogoutURI = spaRx.srv.URL + "/backchannel-logout"
					}
				}
			})
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret, "http://127.0.0.1:5556/callback", oidc.ScopeOpenID)
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID)
			for rx, rp := range map[*repLogoutReceiver]*rp{consoleRx: console, spaRx: spa} {
				rx.mu.Lock()
				rx.verifier = rp.provider.Verifier(&oidc.Config{ClientID: rp.oauth.ClientID})
				rx.mu.Unlock()
			}
			sidOf := func(idt *oidc.IDToken) string {
				var c struct {
					SID string `json:"sid"`
				}
				if err := idt.Claims(&c); err != nil || c.SID == "" {
					t.Fatalf("no sid in the ID token: %v", err)
				}
				return c.SID
			}

			// Browser A: alice signs in to the console, then (single sign-on) to the SPA.
			a := newBrowser(t, srv.URL)
			_, consoleID := console.codeFlow(t, a, "alice")
			_, spaID := spa.codeFlow(t, a, "alice")
			sidA := sidOf(consoleID)
			if sidOf(spaID) != sidA {
				t.Fatalf("one login session, two sids: %s and %s", sidA, sidOf(spaID))
			}
			// A step-up in the console (alice signs in again) renews the session: same sid, and
			// nobody is told of an end.
			consoleTok, consoleID2 := console.codeFlow(t, a, "alice", oauth2.SetAuthURLParam("prompt", "login"))
			if sidOf(consoleID2) != sidA {
				t.Fatalf("signing in again changed the sid: %s → %s", sidA, sidOf(consoleID2))
			}
			// Browser B: alice signs in to the SPA only.
			spaTokB, spaIDB := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
			sidB := sidOf(spaIDB)
			if sidB == sidA {
				t.Fatal("two login sessions share a sid")
			}
			rawIDB, _ := spaTokB.Extra("id_token").(string)

			// A hint from another session of alice (browser B's) does not sign browser A out at
			// once: it asks (RP-Initiated Logout §2).
			p := a.get(srv.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {rawIDB}}.Encode())
			if p.resp.StatusCode != http.StatusOK || !strings.Contains(p.body, "Sign out?") {
				t.Fatalf("logout with another session's hint: %d %s", p.resp.StatusCode, p.body)
			}
			console.codeFlow(t, a, "alice", oauth2.SetAuthURLParam("prompt", "none")) // still signed in

			// RP-initiated logout in browser A: both clients of A are told, with A's sid.
			rawID, _ := consoleTok.Extra("id_token").(string)
			if p := a.get(srv.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {rawID}}.Encode()); p.resp.StatusCode != http.StatusOK {
				t.Fatalf("logout: %d", p.resp.StatusCode)
			}
			consoleRx.waitFor(t, sidA)
			spaRx.waitFor(t, sidA)

			// Sign out everywhere ends B: only the SPA received a response under it.
			if status, body := repAPICall(t, srv, http.MethodPost, "/api/v1/me/sessions/end", spaTokB.AccessToken); status != http.StatusOK {
				t.Fatalf("sign out everywhere: %d %v", status, body)
			}
			spaRx.waitFor(t, sidB)
			time.Sleep(300 * time.Millisecond) // time for a delivery that must not happen
			for name, tc := range map[string]struct {
				rx   *repLogoutReceiver
				want []string
			}{
				"console": {consoleRx, []string{sidA}},
				"spa":     {spaRx, []string{sidA, sidB}},
			} {
				tc.rx.mu.Lock()
				got := slices.Clone(tc.rx.sids)
				tc.rx.mu.Unlock()
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s received logout tokens for %v, want %v", name, got, tc.want)
				}
			}
		})
	}
}
