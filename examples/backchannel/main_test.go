package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
)

const testIssuer = "https://actas.example"

func TestReceiver(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(typ string, claims map[string]any) string {
		opts := (&jose.SignerOptions{}).WithHeader("typ", typ)
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, opts)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(claims)
		jws, err := s.Sign(b)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := jws.CompactSerialize()
		return out
	}
	now := time.Now()
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": testIssuer, "aud": "demo-console", "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
			"jti": "jti-" + time.Now().Format("150405.000000000"), "sid": "RHKT-sahZLTlD_uEkg-n6w",
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
		if edit != nil {
			edit(c)
		}
		return c
	}
	ks := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key.Public()}}
	rc := &receiver{verifier: oidc.NewVerifier(testIssuer, ks, &oidc.Config{ClientID: "demo-console",
		SupportedSigningAlgs: []string{"ES256"}}), seen: map[string]time.Time{}}
	post := func(tok string) int {
		req := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		rc.serveHTTP(rec, req)
		return rec.Code
	}
	replayed := sign("logout+jwt", claims(nil))
	tests := []struct {
		name   string
		token  string
		status int
	}{
		{"ok/valid", replayed, http.StatusOK},
		{"fail/replayed-jti", replayed, http.StatusBadRequest},
		{"fail/typ-jwt", sign("JWT", claims(nil)), http.StatusBadRequest},
		{"fail/with-sub", sign("logout+jwt", claims(func(c map[string]any) { c["sub"] = "u-bob" })), http.StatusBadRequest},
		{"fail/without-sid", sign("logout+jwt", claims(func(c map[string]any) { delete(c, "sid"); c["sub"] = "u-bob" })), http.StatusBadRequest},
		{"fail/other-audience", sign("logout+jwt", claims(func(c map[string]any) { c["aud"] = "demo-spa" })), http.StatusBadRequest},
		{"fail/expired", sign("logout+jwt", claims(func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() })), http.StatusBadRequest},
		{"fail/nonce", sign("logout+jwt", claims(func(c map[string]any) { c["nonce"] = "n" })), http.StatusBadRequest},
		{"fail/no-event", sign("logout+jwt", claims(func(c map[string]any) { delete(c, "events") })), http.StatusBadRequest},
		{"fail/missing", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := post(tt.token); got != tt.status {
				t.Fatalf("status %d, want %d", got, tt.status)
			}
		})
	}
}
