package keys

import (
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite/token/jwt"
)

func jwtHeaders(extra map[string]any) *jwt.Headers {
	h := jwt.NewHeaders()
	for k, v := range extra {
		h.Add(k, v)
	}
	return h
}

// decodeHeader returns a compact token's header without verifying it.
func decodeHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSignerRoundTrip(t *testing.T) {
	t.Parallel()
	h := NewHolder(stdSet(t))
	for _, tt := range []struct{ alg, kid string }{{RS256, "rs-active"}, {ES256, "es-active"}, {EdDSA, "ed-active"}} {
		t.Run("ok/"+tt.alg, func(t *testing.T) {
			t.Parallel()
			s := h.Signer(tt.alg)
			claims := claimsValid()
			tok, sig, err := s.Generate(t.Context(), claims, jwtHeaders(map[string]any{"typ": "at+jwt"}))
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			hd := decodeHeader(t, tok)
			if hd["alg"] != tt.alg || hd["kid"] != tt.kid || hd["typ"] != "at+jwt" {
				t.Fatalf("header %v, want alg %s kid %s typ at+jwt", hd, tt.alg, tt.kid)
			}
			if !strings.HasSuffix(tok, "."+sig) {
				t.Fatal("Generate's signature is not the token's third part")
			}
			gotSig, err := s.Validate(t.Context(), tok)
			if err != nil || gotSig != sig {
				t.Fatalf("Validate = %q, %v", gotSig, err)
			}
			dec, err := s.Decode(t.Context(), tok)
			if err != nil || !dec.Valid() {
				t.Fatalf("Decode: %v", err)
			}
			if dec.Claims["sub"] != "alice" || dec.Claims["jti"] != "jti-1" || string(dec.Method) != tt.alg || dec.Header["kid"] != tt.kid {
				t.Fatalf("decoded %v %v", dec.Header, dec.Claims)
			}
			if gs, err := s.GetSignature(t.Context(), tok); err != nil || gs != sig {
				t.Fatalf("GetSignature = %q, %v", gs, err)
			}
		})
	}
}

func TestSignerHeader(t *testing.T) {
	t.Parallel()
	h := NewHolder(stdSet(t))
	s := h.Signer(RS256)

	t.Run("ok/default-typ-is-JWT", func(t *testing.T) {
		tok, _, err := s.Generate(t.Context(), claimsValid(), jwtHeaders(nil))
		if err != nil {
			t.Fatal(err)
		}
		if hd := decodeHeader(t, tok); hd["typ"] != "JWT" || hd["kid"] != "rs-active" {
			t.Fatalf("header %v", hd)
		}
	})
	t.Run("ok/alg-hook-picks-another-active-alg", func(t *testing.T) {
		hdr := jwtHeaders(map[string]any{"alg": ES256, "kid": "stale-kid", "x-extra": "v"})
		tok, _, err := s.Generate(t.Context(), claimsValid(), hdr)
		if err != nil {
			t.Fatal(err)
		}
		hd := decodeHeader(t, tok)
		if hd["alg"] != ES256 || hd["kid"] != "es-active" || hd["x-extra"] != "v" {
			t.Fatalf("header %v", hd)
		}
		if hdr.Get("kid") != "stale-kid" || hdr.Get("alg") != ES256 {
			t.Fatal("Generate changed the caller's header")
		}
		if _, err := s.Validate(t.Context(), tok); err != nil {
			t.Fatalf("a signer with another default alg must still verify: %v", err)
		}
	})
	t.Run("fail/alg-hook-without-active-key", func(t *testing.T) {
		_, _, err := s.Generate(t.Context(), claimsValid(), jwtHeaders(map[string]any{"alg": "PS256"}))
		if !errors.Is(err, ErrNoActiveKey) {
			t.Fatalf("error %v, want ErrNoActiveKey", err)
		}
	})
	t.Run("fail/default-alg-without-active-key", func(t *testing.T) {
		_, _, err := h.Signer("ES384").Generate(t.Context(), claimsValid(), jwtHeaders(nil))
		if !errors.Is(err, ErrNoActiveKey) {
			t.Fatalf("error %v, want ErrNoActiveKey", err)
		}
	})
	t.Run("fail/nil-header", func(t *testing.T) {
		if _, _, err := s.Generate(t.Context(), claimsValid(), nil); err == nil {
			t.Fatal("Generate with nil header succeeded")
		}
	})
}

func TestSignerRotation(t *testing.T) {
	t.Parallel()
	k1 := func(st State) Key { return testKey(t, ES256, 0, "k1", st) }
	k2 := func(st State) Key { return testKey(t, ES256, 1, "k2", st) }
	h := NewHolder(mustSet(t, k1(StateActive), k2(StateNext)))
	s := h.Signer(ES256)

	old, _, err := s.Generate(t.Context(), claimsValid(), jwtHeaders(nil))
	if err != nil {
		t.Fatal(err)
	}

	h.Store(mustSet(t, k1(StateRetired), k2(StateActive)))
	if _, err := s.Validate(t.Context(), old); err != nil {
		t.Fatalf("token of the retired key no longer validates: %v", err)
	}
	fresh, _, err := s.Generate(t.Context(), claimsValid(), jwtHeaders(nil))
	if err != nil {
		t.Fatal(err)
	}
	if decodeHeader(t, fresh)["kid"] != "k2" {
		t.Fatal("new tokens are not signed by the new active key")
	}

	h.Store(mustSet(t, k1(StateRemoved), k2(StateActive)))
	_, err = s.Validate(t.Context(), old)
	assertValidationError(t, err, jwt.ValidationErrorUnverifiable, ErrUnknownKey)
	if _, err := s.Validate(t.Context(), fresh); err != nil {
		t.Fatalf("token of the active key fails: %v", err)
	}
}

func assertValidationError(t *testing.T, err error, bits uint32, inner error) {
	t.Helper()
	var ve *jwt.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want *jwt.ValidationError", err, err)
	}
	if !ve.Has(bits) {
		t.Fatalf("error %v has bits %b, want %b", err, ve.Errors, bits)
	}
	if inner != nil && !errors.Is(ve.Inner, inner) {
		t.Fatalf("error %v, want inner %v", err, inner)
	}
}

func TestSignerRejects(t *testing.T) {
	t.Parallel()
	set := stdSet(t)
	h := NewHolder(set)
	s := h.Signer(ES256)
	ctx := t.Context()

	good, _, err := s.Generate(ctx, claimsValid(), jwtHeaders(nil))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, ".")
	rsKey, _ := set.Verifier("rs-active")
	rsPub := rsKey.Public().(*rsa.PublicKey)
	rsPubDER, _ := x509.MarshalPKIXPublicKey(rsPub)
	rsPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsPubDER})
	rsJWK, _ := json.Marshal(set.JWKS().Keys[2])
	hmacWith := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte { m := hmac.New(sha256.New, secret); m.Write(in); return m.Sum(nil) }
	}
	hs256 := func(kid string, secret []byte) string {
		return rawJWT(t, map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, claimsValid(), hmacWith(secret))
	}
	// A token whose other half is flipped: a valid signature over different claims.
	otherClaims := claimsValid()
	otherClaims["sub"] = "mallory"
	other, _, _ := s.Generate(ctx, otherClaims, jwtHeaders(nil))
	spliced := parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]
	sigBytes, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sigBytes[5] ^= 0x01
	flipped := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sigBytes)
	esRetired, _ := set.Verifier("es-retired")
	esNext, _ := set.Verifier("es-next")
	rsRemoved := set.Keys()[5]
	expired := claimsValid()
	expired["exp"] = time.Now().Add(-time.Minute).Unix()

	tests := []struct {
		name  string
		token string
		bits  uint32
		inner error
	}{
		{name: "fail/empty", token: "", bits: jwt.ValidationErrorMalformed},
		{name: "fail/garbage", token: "not-a-jwt", bits: jwt.ValidationErrorMalformed},
		{name: "fail/json-serialization", token: `{"payload":"` + parts[1] + `","protected":"` + parts[0] + `","signature":"` + parts[2] + `"}`, bits: jwt.ValidationErrorMalformed},
		{name: "fail/four-parts", token: good + ".x", bits: jwt.ValidationErrorMalformed},
		{name: "fail/flipped-signature-bit", token: flipped, bits: jwt.ValidationErrorSignatureInvalid},
		{name: "fail/spliced-claims", token: spliced, bits: jwt.ValidationErrorSignatureInvalid},
		{name: "fail/no-signature", token: parts[0] + "." + parts[1] + ".", bits: jwt.ValidationErrorSignatureInvalid | jwt.ValidationErrorMalformed},
		{name: "fail/alg-none-with-kid", token: rawJWT(t, map[string]any{"alg": "none", "kid": "es-active"}, claimsValid(), func([]byte) []byte { return nil }), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/alg-none-without-kid", token: rawJWT(t, map[string]any{"alg": "none"}, claimsValid(), func([]byte) []byte { return nil }), bits: jwt.ValidationErrorUnverifiable, inner: ErrUnknownKey},
		{name: "fail/hs256-keyed-with-public-pem", token: hs256("rs-active", rsPubPEM), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/hs256-keyed-with-public-der", token: hs256("rs-active", rsPubDER), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/hs256-keyed-with-public-jwk", token: hs256("rs-active", rsJWK), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/unknown-kid", token: signJose4(t, ES256, genSigner(t, ES256, 9), "who", claimsValid()), bits: jwt.ValidationErrorUnverifiable, inner: ErrUnknownKey},
		{name: "fail/no-kid", token: signJose4(t, ES256, esRetired.Private, "", claimsValid()), bits: jwt.ValidationErrorUnverifiable, inner: ErrUnknownKey},
		{name: "fail/kid-of-another-alg", token: signJose4(t, ES256, esRetired.Private, "rs-active", claimsValid()), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/eddsa-token-with-es-kid", token: signJose4(t, EdDSA, genSigner(t, EdDSA, 0), "es-active", claimsValid()), bits: jwt.ValidationErrorUnverifiable, inner: ErrAlgMismatch},
		{name: "fail/kid-of-other-key-same-alg", token: signJose4(t, ES256, esNext.Private, "es-retired", claimsValid()), bits: jwt.ValidationErrorSignatureInvalid},
		{name: "fail/foreign-key-claims-our-kid", token: signJose4(t, ES256, genSigner(t, ES256, 9), "es-active", claimsValid()), bits: jwt.ValidationErrorSignatureInvalid},
		{name: "fail/removed-key", token: signJose4(t, RS256, rsRemoved.Private, "rs-removed", claimsValid()), bits: jwt.ValidationErrorUnverifiable, inner: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := s.Validate(ctx, tt.token); err == nil {
				t.Fatal("Validate accepted the token")
			}
			tok, err := s.Decode(ctx, tt.token)
			if tok != nil {
				t.Fatal("Decode returned a token that failed verification")
			}
			assertValidationError(t, err, tt.bits, tt.inner)
			if _, err := h.VerifyJWT(tt.token); err == nil {
				t.Fatal("VerifyJWT accepted the token")
			}
		})
	}

	t.Run("ok/next-key-verifies", func(t *testing.T) {
		t.Parallel()
		if _, err := s.Validate(ctx, signJose4(t, ES256, esNext.Private, "es-next", claimsValid())); err != nil {
			t.Fatalf("token of a next key: %v", err)
		}
	})
}

func TestSignerTimeClaims(t *testing.T) {
	t.Parallel()
	h := NewHolder(stdSet(t))
	s := h.Signer(ES256)
	now := time.Now()
	tests := []struct {
		name string
		set  map[string]any
		bits uint32
	}{
		{name: "fail/expired", set: map[string]any{"exp": now.Add(-time.Minute).Unix()}, bits: jwt.ValidationErrorExpired},
		{name: "fail/issued-in-future", set: map[string]any{"iat": now.Add(time.Hour).Unix()}, bits: jwt.ValidationErrorIssuedAt},
		{name: "fail/not-yet-valid", set: map[string]any{"nbf": now.Add(time.Hour).Unix()}, bits: jwt.ValidationErrorNotValidYet},
		{name: "ok/no-time-claims", set: map[string]any{"exp": nil, "iat": nil}},
		{name: "ok/nbf-past", set: map[string]any{"nbf": now.Add(-time.Minute).Unix()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := claimsValid()
			for k, v := range tt.set {
				if v == nil {
					delete(c, k)
				} else {
					c[k] = v
				}
			}
			tok, _, err := s.Generate(t.Context(), c, jwtHeaders(nil))
			if err != nil {
				t.Fatal(err)
			}
			_, verr := s.Validate(t.Context(), tok)
			dec, derr := s.Decode(t.Context(), tok)
			if tt.bits == 0 {
				if verr != nil || derr != nil {
					t.Fatalf("Validate %v, Decode %v", verr, derr)
				}
				return
			}
			assertValidationError(t, verr, tt.bits, nil)
			assertValidationError(t, derr, tt.bits, nil)
			// Like fosite's DefaultSigner, Decode returns the verified token with a claims error,
			// which is what id_token_hint handling relies on for expired ID tokens.
			if dec == nil || dec.Claims["sub"] != "alice" {
				t.Fatalf("Decode returned %v with a claims error, want the verified token", dec)
			}
		})
	}
}

func TestSignerHash(t *testing.T) {
	t.Parallel()
	h := NewHolder(stdSet(t))
	in := []byte("access-token")
	for _, tt := range []struct {
		alg  string
		size int
	}{{RS256, 32}, {ES256, 32}, {EdDSA, 64}} {
		s := h.Signer(tt.alg)
		got, err := s.Hash(t.Context(), in)
		if err != nil || len(got) != tt.size || s.GetSigningMethodLength(t.Context()) != tt.size {
			t.Fatalf("%s: Hash len %d (%v), length %d; want %d", tt.alg, len(got), err, s.GetSigningMethodLength(t.Context()), tt.size)
		}
		hf, _ := HashFor(tt.alg)
		want := hf.New()
		want.Write(in)
		if string(want.Sum(nil)) != string(got) {
			t.Fatalf("%s: Hash differs from %v", tt.alg, hf)
		}
	}
	// OIDC Core §3.1.3.6 example-style check: left half of SHA-256, base64url.
	sum := sha256.Sum256([]byte("tok"))
	if got, _ := TokenHash(ES256, "tok"); got != base64.RawURLEncoding.EncodeToString(sum[:16]) {
		t.Fatalf("TokenHash(ES256) = %q", got)
	}
	if _, err := TokenHash("HS256", "tok"); !errors.Is(err, ErrUnsupportedAlg) {
		t.Fatalf("TokenHash(HS256) error %v", err)
	}
}
