package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	jose4 "github.com/go-jose/go-jose/v4"
)

// Test keys are generated once per test binary (RSA generation is slow under -race) and shared;
// index n gives distinct keys of one kind.
var (
	keyCacheMu sync.Mutex
	keyCache   = map[string]crypto.Signer{}
)

func genSigner(tb testing.TB, kind string, n int) crypto.Signer {
	tb.Helper()
	id := fmt.Sprintf("%s/%d", kind, n)
	keyCacheMu.Lock()
	defer keyCacheMu.Unlock()
	if k, ok := keyCache[id]; ok {
		return k
	}
	var (
		k   crypto.Signer
		err error
	)
	switch kind {
	case RS256, "RSA-2048":
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	case "RSA-1024":
		k, err = rsa.GenerateKey(rand.Reader, 1024)
	case ES256, "P-256":
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "P-384":
		k, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case EdDSA, "Ed25519":
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		tb.Fatalf("unknown key kind %q", kind)
	}
	if err != nil {
		tb.Fatalf("generate %s: %v", kind, err)
	}
	keyCache[id] = k
	return k
}

// testKey returns key number n of alg with the given kid and state.
func testKey(tb testing.TB, alg string, n int, kid string, state State) Key {
	tb.Helper()
	return Key{KID: kid, Alg: alg, State: state, Private: genSigner(tb, alg, n)}
}

func mustSet(tb testing.TB, keys ...Key) *Set {
	tb.Helper()
	s, err := NewSet(keys)
	if err != nil {
		tb.Fatalf("NewSet: %v", err)
	}
	return s
}

// stdSet is a set with one active key per algorithm plus a next and a retired ES256 key and a
// removed RS256 key.
func stdSet(tb testing.TB) *Set {
	tb.Helper()
	return mustSet(tb,
		testKey(tb, RS256, 0, "rs-active", StateActive),
		testKey(tb, ES256, 0, "es-active", StateActive),
		testKey(tb, EdDSA, 0, "ed-active", StateActive),
		testKey(tb, ES256, 1, "es-next", StateNext),
		testKey(tb, ES256, 2, "es-retired", StateRetired),
		testKey(tb, RS256, 1, "rs-removed", StateRemoved),
	)
}

func claimsValid() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": "https://issuer.example",
		"sub": "alice",
		"iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(),
		"jti": "jti-1",
	}
}

// signJose4 signs claims with go-jose v4, putting kid and extra header values as given; it lets
// tests forge tokens whose header names a different key than the one that signed.
func signJose4(tb testing.TB, alg string, priv crypto.Signer, kid string, claims map[string]any) string {
	tb.Helper()
	return signJose4Typ(tb, alg, priv, kid, "JWT", claims)
}

// signJose4Typ is signJose4 with a chosen typ header; "" leaves typ out.
func signJose4Typ(tb testing.TB, alg string, priv crypto.Signer, kid, typ string, claims map[string]any) string {
	tb.Helper()
	opts := &jose4.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose4.ContentType(typ))
	}
	if kid != "" {
		opts = opts.WithHeader(jose4.HeaderKey("kid"), kid)
	}
	sig, err := jose4.NewSigner(jose4.SigningKey{Algorithm: jose4.SignatureAlgorithm(alg), Key: priv}, opts)
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	obj, err := sig.Sign(payload)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// rawJWT builds a compact JWS from header and claims with the given signature bytes.
func rawJWT(tb testing.TB, header, claims map[string]any, sign func(signingInput []byte) []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}
