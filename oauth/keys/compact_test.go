package keys

import (
	"encoding/json"
	"testing"
	"time"

	jose4 "github.com/go-jose/go-jose/v4"
)

// Every token the signer makes verifies with go-jose, for each algorithm, and carries exactly the
// claims it was given. ES256 is signed many times: about one signature in 128 has an R or S with
// a leading zero byte, which must still be encoded on 32 bytes (RFC 7518 §3.4).
func TestSignCompactVerifiesWithGoJose(t *testing.T) {
	t.Parallel()
	set := stdSet(t)
	h := NewHolder(set)
	claims := map[string]any{
		"iss": "https://issuer.example", "sub": "u-cust<1>&", "aud": []string{"a", "b"},
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "j",
		"act":   map[string]any{"sub": "u-agent", "act": map[string]any{"sub": "u-boss"}},
		"scope": "orders:read", "é": "ünïcode",
	}
	want, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		alg, kid string
		n        int
	}{{ES256, "es-active", 600}, {RS256, "rs-active", 3}, {EdDSA, "ed-active", 3}} {
		e, ok := set.entry(tt.kid)
		if !ok {
			t.Fatalf("no key %s", tt.kid)
		}
		for range tt.n {
			tok, _, err := h.Signer(tt.alg).Generate(t.Context(), claims, jwtHeaders(map[string]any{"typ": "at+jwt"}))
			if err != nil {
				t.Fatalf("%s: Generate: %v", tt.alg, err)
			}
			obj, err := jose4.ParseSigned(tok, []jose4.SignatureAlgorithm{jose4.SignatureAlgorithm(tt.alg)})
			if err != nil {
				t.Fatalf("%s: go-jose parse: %v", tt.alg, err)
			}
			payload, err := obj.Verify(e.key.Public())
			if err != nil {
				t.Fatalf("%s: go-jose verify: %v (token %s)", tt.alg, err, tok)
			}
			var got, exp map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(want, &exp)
			if g, w := mustJSON(t, got), mustJSON(t, exp); g != w {
				t.Fatalf("%s: payload %s, want %s", tt.alg, g, w)
			}
			if hd := obj.Signatures[0].Protected; hd.KeyID != tt.kid || hd.Algorithm != tt.alg || hd.ExtraHeaders["typ"] != "at+jwt" {
				t.Fatalf("%s: header %+v", tt.alg, hd)
			}
		}
	}
}

func TestSignCompactRefusesAMismatchedKey(t *testing.T) {
	t.Parallel()
	ec := testKey(t, ES256, 0, "es", StateActive)
	ec.Alg = RS256
	if _, err := signCompact(ec, map[string]any{}, map[string]any{"sub": "x"}); err == nil {
		t.Fatal("an ECDSA key signed as RS256")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
