// Command backchannel is a relying party's OpenID Connect Back-Channel Logout 1.0 endpoint for
// trying actas: it receives the logout tokens that actas POSTs when a representation session ends
// or a user signs out of a login session the client got tokens under, verifies each one as a relying
// party must, and prints it as one JSON line.
//
//	go run ./cmd/actas serve --dev                 # terminal 1 (see docs/representations.md to
//	                                               # register http://127.0.0.1:5557/backchannel-logout)
//	go run ./examples/backchannel                  # terminal 2
//
// A logout token is accepted only when (Back-Channel Logout 1.0 §2.6):
//   - its signature verifies with a key of actas's JWKS (found through discovery), its `iss` is
//     the issuer, its `aud` the client id, and it has not expired (go-oidc's VerifyLogout, which
//     also requires `jti`, the back-channel logout event, `sid` or `sub`, and refuses `nonce`);
//   - its header `typ` is "logout+jwt" (so that no other JWT of actas can pass for one);
//   - it names a session (`sid`: the representation session id, which the impersonation tokens
//     carry, or the login session's, which its ID tokens carry) and no `sub` (actas never logs a
//     represented user out of their own sessions, nor a user out of their other browsers);
//   - its `jti` was not seen before (a replayed token is refused).
//
// What to do with a valid token is the relying party's business: end every session it created
// from tokens whose `sid` is the token's. This example prints it and answers 200 (§2.8).
//
// It uses only off-the-shelf libraries (github.com/coreos/go-oidc/v3), as any relying party would.
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// receiver verifies logout tokens.
type receiver struct {
	verifier *oidc.IDTokenVerifier
	mu       sync.Mutex
	seen     map[string]time.Time // jti → expiry, for replay detection
}

// verify checks a logout token and returns what the relying party acts on.
func (rc *receiver) verify(ctx context.Context, raw string) (*oidc.LogoutToken, error) {
	lt, err := rc.verifier.VerifyLogout(ctx, raw)
	if err != nil {
		return nil, err
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(raw, ".", 2)[0]); err != nil || json.Unmarshal(b, &hdr) != nil {
		return nil, errors.New("unreadable JOSE header")
	}
	switch {
	case !strings.EqualFold(strings.TrimPrefix(strings.ToLower(hdr.Typ), "application/"), "logout+jwt"):
		return nil, fmt.Errorf("header typ %q is not logout+jwt", hdr.Typ)
	case lt.SessionID == "":
		return nil, errors.New("no sid: actas always names the session (a representation or a login)")
	case lt.Subject != "":
		return nil, errors.New("a sub: actas never sends one")
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	now := time.Now()
	for jti, exp := range rc.seen {
		if now.After(exp) {
			delete(rc.seen, jti)
		}
	}
	if _, dup := rc.seen[lt.TokenID]; dup {
		return nil, errors.New("replayed jti")
	}
	rc.seen[lt.TokenID] = lt.Expiry
	return lt, nil
}

func (rc *receiver) serveHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	raw := r.PostFormValue("logout_token")
	if raw == "" {
		http.Error(w, `{"error":"invalid_request","error_description":"logout_token is missing"}`, http.StatusBadRequest)
		return
	}
	lt, err := rc.verify(r.Context(), raw)
	if err != nil {
		log.Printf("refused a logout token: %v", err)
		http.Error(w, `{"error":"invalid_request","error_description":"the logout token is not valid"}`, http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"sid": lt.SessionID, "aud": lt.Audience, "iss": lt.Issuer, "jti": lt.TokenID,
		"iat": lt.IssuedAt.UTC(), "exp": lt.Expiry.UTC(),
	})
	w.WriteHeader(http.StatusOK)
}

func main() {
	issuer := flag.String("issuer", "http://127.0.0.1:8080", "actas issuer URL")
	clientID := flag.String("client-id", "demo-console", "the client whose backchannel_logout_uri points here")
	addr := flag.String("addr", "127.0.0.1:5557", "listen address")
	path := flag.String("path", "/backchannel-logout", "endpoint path")
	flag.Parse()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	provider, err := oidc.NewProvider(ctx, *issuer)
	cancel()
	if err != nil {
		log.Fatalf("discovery at %s: %v (is `actas serve --dev` running?)", *issuer, err)
	}
	rc := &receiver{verifier: provider.Verifier(&oidc.Config{ClientID: *clientID}), seen: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+*path, rc.serveHTTP)
	log.Printf("back-channel logout endpoint for %s at http://%s%s", *clientID, *addr, *path)
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
