package keys

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	jose4 "github.com/go-jose/go-jose/v4"
)

func TestNewSetErrors(t *testing.T) {
	t.Parallel()
	es0 := func(kid string, st State) Key { return testKey(t, ES256, 0, kid, st) }
	tests := []struct {
		name    string
		keys    []Key
		want    error
		wantMsg string
	}{
		{name: "fail/empty", keys: nil, want: ErrInvalidSet, wantMsg: "no active key"},
		{name: "fail/only-next-and-retired", keys: []Key{es0("a", StateNext), testKey(t, ES256, 1, "b", StateRetired)}, want: ErrInvalidSet, wantMsg: "no active key"},
		{name: "fail/duplicate-kid", keys: []Key{es0("a", StateActive), testKey(t, RS256, 0, "a", StateActive)}, want: ErrInvalidSet, wantMsg: `kid "a" is already used by key #0`},
		{name: "fail/duplicate-kid-with-removed", keys: []Key{es0("a", StateActive), testKey(t, ES256, 1, "a", StateRemoved)}, want: ErrInvalidSet, wantMsg: "already used"},
		{name: "fail/two-active-same-alg", keys: []Key{es0("a", StateActive), testKey(t, ES256, 1, "b", StateActive)}, want: ErrInvalidSet, wantMsg: "one active key per algorithm"},
		{name: "fail/empty-kid", keys: []Key{es0("", StateActive)}, want: ErrInvalidSet, wantMsg: "empty kid"},
		{name: "fail/long-kid", keys: []Key{es0(strings.Repeat("k", 129), StateActive)}, want: ErrInvalidSet, wantMsg: "longer"},
		{name: "fail/control-char-kid", keys: []Key{es0("a\nb", StateActive)}, want: ErrInvalidSet, wantMsg: "non-printable"},
		{name: "fail/bad-state", keys: []Key{es0("a", "on")}, want: ErrInvalidSet, wantMsg: "state"},
		{name: "fail/no-private-key", keys: []Key{{KID: "a", Alg: ES256, State: StateActive}}, want: ErrInvalidSet, wantMsg: "no private key"},
		{name: "fail/alg-mismatch", keys: []Key{testKey(t, EdDSA, 0, "a", StateActive).withAlg(ES256)}, want: ErrKeyMismatch, wantMsg: "P-256"},
		{name: "fail/unsupported-alg", keys: []Key{testKey(t, RS256, 0, "a", StateActive).withAlg("PS256")}, want: ErrUnsupportedAlg, wantMsg: "PS256"},
		{name: "fail/rsa-too-small", keys: []Key{{KID: "a", Alg: RS256, State: StateActive, Private: genSigner(t, "RSA-1024", 0)}}, want: ErrKeyMismatch, wantMsg: "2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := NewSet(tt.keys)
			if err == nil || s != nil {
				t.Fatal("NewSet succeeded, want error")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q, want %v saying %q", err, tt.want, tt.wantMsg)
			}
		})
	}
}

func TestNewSetReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := NewSet([]Key{
		testKey(t, ES256, 0, "a", StateActive),
		testKey(t, ES256, 1, "a", StateNext),
		testKey(t, ES256, 2, "c", StateActive),
	})
	if err == nil || !strings.Contains(err.Error(), "key #1") || !strings.Contains(err.Error(), "key #2") {
		t.Fatalf("want both problems reported, got %v", err)
	}
}

func TestSetLookups(t *testing.T) {
	t.Parallel()
	s := stdSet(t)

	for alg, kid := range map[string]string{RS256: "rs-active", ES256: "es-active", EdDSA: "ed-active"} {
		k, err := s.Active(alg)
		if err != nil || k.KID != kid {
			t.Fatalf("Active(%s) = %q, %v; want %q", alg, k.KID, err, kid)
		}
	}
	if _, err := s.Active("PS256"); !errors.Is(err, ErrNoActiveKey) {
		t.Fatalf("Active(PS256) error %v", err)
	}

	tests := []struct {
		kid  string
		want bool
	}{
		{"es-active", true}, {"es-next", true}, {"es-retired", true},
		{"rs-removed", false}, {"nope", false}, {"", false},
	}
	for _, tt := range tests {
		k, ok := s.Verifier(tt.kid)
		if ok != tt.want || (ok && k.KID != tt.kid) {
			t.Errorf("Verifier(%q) = %q, %v; want %v", tt.kid, k.KID, ok, tt.want)
		}
	}
	if got := s.Algs(); !slices.Equal(got, []string{ES256, EdDSA, RS256}) {
		t.Fatalf("Algs() = %v", got)
	}
	if got := len(s.Keys()); got != 6 {
		t.Fatalf("Keys() has %d keys, want 6 (removed included)", got)
	}
}

func TestSetJWKS(t *testing.T) {
	t.Parallel()
	s := stdSet(t)
	jwks := s.JWKS()

	var kids []string
	for _, k := range jwks.Keys {
		kids = append(kids, k.KeyID)
		if !k.IsPublic() || !k.Valid() {
			t.Fatalf("JWKS key %q is not a valid public key", k.KeyID)
		}
		if k.Use != "sig" {
			t.Fatalf("JWKS key %q has use %q", k.KeyID, k.Use)
		}
		want, ok := s.Verifier(k.KeyID)
		if !ok || k.Algorithm != want.Alg {
			t.Fatalf("JWKS key %q has alg %q, want %q", k.KeyID, k.Algorithm, want.Alg)
		}
	}
	wantKIDs := []string{"ed-active", "es-active", "rs-active", "es-next", "es-retired"}
	if !slices.Equal(kids, wantKIDs) {
		t.Fatalf("JWKS kids %v, want %v (active, next, retired; no removed)", kids, wantKIDs)
	}

	// The serialized document carries no private member.
	b, err := json.Marshal(jwks)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Keys []map[string]any }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range doc.Keys {
		for _, priv := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if _, ok := k[priv]; ok {
				t.Fatalf("published key %v has private member %q", k["kid"], priv)
			}
		}
	}

	// Each published key verifies, with go-jose v4, what its private half signs.
	for _, pub := range jwks.Keys {
		k, _ := s.Verifier(pub.KeyID)
		tok := signJose4(t, k.Alg, k.Private, k.KID, claimsValid())
		obj, err := jose4.ParseSigned(tok, []jose4.SignatureAlgorithm{jose4.SignatureAlgorithm(pub.Algorithm)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := obj.Verify(pub); err != nil {
			t.Fatalf("published key %q does not verify its private half: %v", pub.KeyID, err)
		}
		other := jwks.Keys[0]
		if other.KeyID == pub.KeyID {
			other = jwks.Keys[1]
		}
		if _, err := obj.Verify(other); err == nil {
			t.Fatalf("key %q verified a token of key %q", other.KeyID, pub.KeyID)
		}
	}

	// JWKS returns a copy.
	jwks.Keys[0].KeyID = "tampered"
	if s.JWKS().Keys[0].KeyID == "tampered" {
		t.Fatal("JWKS exposes the set's internal slice")
	}
}

func TestHolderConcurrentRotation(t *testing.T) {
	t.Parallel()
	// Rolling rotation: "b" is published as next before it signs, so both sets verify both keys.
	a := mustSet(t, testKey(t, ES256, 0, "a", StateActive), testKey(t, ES256, 1, "b", StateNext))
	b := mustSet(t, testKey(t, ES256, 0, "a", StateRetired), testKey(t, ES256, 1, "b", StateActive))
	h := NewHolder(a)
	sig := h.Signer(ES256)

	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				tok, _, err := sig.Generate(t.Context(), claimsValid(), jwtHeaders(nil))
				if err != nil {
					t.Errorf("Generate: %v", err)
					return
				}
				if _, err := sig.Validate(t.Context(), tok); err != nil {
					t.Errorf("Validate: %v", err)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		if i%2 == 0 {
			h.Store(b)
		} else {
			h.Store(a)
		}
	}
	wg.Wait()
}

func TestHolderEmpty(t *testing.T) {
	t.Parallel()
	var h Holder
	if h.Load() != nil {
		t.Fatal("zero Holder has a set")
	}
	if _, _, err := h.Signer(ES256).Generate(t.Context(), claimsValid(), jwtHeaders(nil)); !errors.Is(err, ErrNoKeySet) {
		t.Fatalf("Generate error %v, want ErrNoKeySet", err)
	}
	if _, err := h.Signer(ES256).Validate(t.Context(), "a.b.c"); !errors.Is(err, ErrNoKeySet) {
		t.Fatalf("Validate error %v, want ErrNoKeySet", err)
	}
	if _, err := h.VerifyJWT("a.b.c"); !errors.Is(err, ErrNoKeySet) {
		t.Fatalf("VerifyJWT error %v, want ErrNoKeySet", err)
	}
}
