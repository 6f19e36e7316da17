package keys

import (
	"crypto/ecdsa"
	"crypto/x509"
	"strings"
	"testing"
)

func FuzzParsePrivateKey(f *testing.F) {
	ec := genSigner(f, ES256, 0)
	ed := genSigner(f, EdDSA, 0)
	sec1, _ := x509.MarshalECPrivateKey(ec.(*ecdsa.PrivateKey))
	for _, seed := range [][]byte{
		pkcs8(f, ec), pkcs8(f, ed), pemBlock(f, "EC PRIVATE KEY", sec1),
		privateJWK(f, ec, "k", ES256), privateJWK(f, ed, "", ""),
		[]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQ"}`), []byte(`{"kty":"OKP","crv":"Ed25519","d":"AA","x":"AA"}`),
		[]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), {}, []byte("{"),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParsePrivateKey(data)
		if err != nil {
			if k != nil {
				t.Fatal("key returned with an error")
			}
			return
		}
		if k == nil {
			t.Fatal("nil key without error")
		}
		// Whatever parses must be a usable signing key whose halves match.
		if err := selfTest(k); err != nil {
			t.Fatalf("parsed key fails its self-test: %v", err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	set := stdSet(f)
	h := NewHolder(set)
	s := h.Signer(ES256)
	for _, alg := range SupportedAlgs() {
		tok, _, err := h.Signer(alg).Generate(f.Context(), claimsValid(), jwtHeaders(nil))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
		parts := strings.Split(tok, ".")
		f.Add(parts[0] + "." + parts[1] + ".")
		f.Add("eyJhbGciOiJub25lIiwia2lkIjoiZXMtYWN0aXZlIn0." + parts[1] + ".")
	}
	f.Add("")
	f.Add("..")
	f.Add("a.b.c")
	f.Add(`{"payload":"e30","signatures":[]}`)
	f.Fuzz(func(t *testing.T, token string) {
		sig, verr := s.Validate(t.Context(), token)
		dec, derr := s.Decode(t.Context(), token)
		if (verr == nil) != (derr == nil) {
			t.Fatalf("Validate and Decode disagree: %v / %v", verr, derr)
		}
		if verr == nil {
			kid, _ := dec.Header["kid"].(string)
			k, ok := set.Verifier(kid)
			if !ok || string(dec.Method) != k.Alg || !strings.HasSuffix(token, "."+sig) {
				t.Fatalf("accepted a token without a matching published key: kid %q alg %q", kid, dec.Method)
			}
		}
		v, err := h.VerifyJWT(token)
		if err == nil && v == nil {
			t.Fatal("VerifyJWT: nil result without error")
		}
		_, _ = s.GetSignature(t.Context(), token)
	})
}
