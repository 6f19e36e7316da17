// Command rp is a minimal relying party for actas: a web app on http://127.0.0.1:5555 that logs a
// user in with the authorization code flow and PKCE (client demo-spa of `actas serve --dev`), verifies
// the ID token, calls userinfo, and shows who the user is — and, for a token issued under an
// impersonation or delegation, who is acting (the `act` claim).
//
//	go run ./cmd/actas serve --dev      # in one terminal
//	go run ./examples/rp                # in another; then open http://127.0.0.1:5555/
//
// It uses only off-the-shelf libraries (github.com/coreos/go-oidc/v3 and golang.org/x/oauth2), as
// any relying party would.
package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"html/template"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

var page = template.Must(template.New("p").Parse(`<!doctype html><meta charset="utf-8"><title>actas demo RP</title>
<body style="font-family:sans-serif;max-width:50rem;margin:2rem auto">
<h1>actas demo relying party</h1>
{{if .Claims}}<p>Signed in as <b>{{.Sub}}</b>{{if .Act}} — <b>{{.Act}}</b> is acting on this user's behalf{{end}}.</p>
<h2>ID token claims</h2><pre>{{.Claims}}</pre><h2>Userinfo</h2><pre>{{.UserInfo}}</pre>
<h2>Access token claims</h2><pre>{{.AccessClaims}}</pre>
<p><a href="/">start again</a></p>
{{else}}<p><a href="/login">Sign in with actas</a></p>{{end}}`))

func main() {
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "actas issuer URL")
	addr := flag.String("addr", "127.0.0.1:5555", "listen address (must match the registered redirect URI)")
	clientID := flag.String("client-id", "demo-spa", "client id (public client, PKCE)")
	flag.Parse()

	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, *issuer)
	if err != nil {
		log.Fatalf("discovery at %s: %v (is `actas serve --dev` running?)", *issuer, err)
	}
	conf := &oauth2.Config{ClientID: *clientID, Endpoint: provider.Endpoint(),
		RedirectURL: "http://" + *addr + "/callback", Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: *clientID})

	type pending struct{ verifier, nonce string }
	var mu sync.Mutex
	states := map[string]pending{}

	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { _ = page.Execute(w, nil) })
	http.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		state, nonce, v := random(), random(), oauth2.GenerateVerifier()
		mu.Lock()
		states[state] = pending{v, nonce}
		mu.Unlock()
		http.Redirect(w, r, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(v), oidc.Nonce(nonce)), http.StatusFound)
	})
	http.HandleFunc("/callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if e := q.Get("error"); e != "" {
			http.Error(w, e+": "+q.Get("error_description"), http.StatusBadRequest)
			return
		}
		if q.Get("iss") != *issuer { // RFC 9207: the response comes from the issuer we asked
			http.Error(w, "unexpected iss", http.StatusBadRequest)
			return
		}
		mu.Lock()
		p, ok := states[q.Get("state")]
		delete(states, q.Get("state"))
		mu.Unlock()
		if !ok {
			http.Error(w, "unknown state", http.StatusBadRequest)
			return
		}
		tok, err := conf.Exchange(r.Context(), q.Get("code"), oauth2.VerifierOption(p.verifier))
		if err != nil {
			http.Error(w, "token: "+err.Error(), http.StatusBadGateway)
			return
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(r.Context(), raw)
		if err != nil || idt.Nonce != p.nonce {
			http.Error(w, "id token rejected", http.StatusBadGateway)
			return
		}
		var claims map[string]any
		_ = idt.Claims(&claims)
		ui, err := provider.UserInfo(r.Context(), oauth2.StaticTokenSource(tok))
		var uiClaims map[string]any
		if err == nil {
			_ = ui.Claims(&uiClaims)
		}
		at := jwtClaims(tok.AccessToken)
		act := ""
		if a, ok := at["act"].(map[string]any); ok {
			act, _ = a["sub"].(string)
		}
		_ = page.Execute(w, map[string]any{"Sub": idt.Subject, "Act": act,
			"Claims": pretty(claims), "UserInfo": pretty(uiClaims), "AccessClaims": pretty(at)})
	})
	log.Printf("demo relying party on http://%s/ (issuer %s)", *addr, *issuer)
	srv := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// jwtClaims decodes a JWT's payload for display only (the RP trusts it because it came from the
// token endpoint over TLS; a resource server would verify it against the JWKS or introspect).
func jwtClaims(raw string) map[string]any {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return m
}

func pretty(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func random() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
