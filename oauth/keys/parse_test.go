package keys

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose4 "github.com/go-jose/go-jose/v4"
)

func pemBlock(tb testing.TB, typ string, der []byte) []byte {
	tb.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func pkcs8(tb testing.TB, k crypto.Signer) []byte {
	tb.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		tb.Fatal(err)
	}
	return pemBlock(tb, "PRIVATE KEY", der)
}

func privateJWK(tb testing.TB, k crypto.Signer, kid, alg string) []byte {
	tb.Helper()
	b, err := json.Marshal(jose4.JSONWebKey{Key: k, KeyID: kid, Algorithm: alg, Use: "sig"})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// secretFragments returns pieces of the encoded key that must never appear in an error.
func secretFragments(data []byte) []string {
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) >= 24 && !strings.HasPrefix(line, "-----") {
			out = append(out, line[4:20])
		}
	}
	var m map[string]any
	if json.Unmarshal(data, &m) == nil {
		for _, f := range []string{"d", "p", "q", "dp", "dq", "qi"} {
			if s, ok := m[f].(string); ok && len(s) >= 16 {
				out = append(out, s[:16])
			}
		}
	}
	return out
}

func assertNoSecrets(t *testing.T, err error, data []byte) {
	t.Helper()
	if err == nil {
		return
	}
	for _, frag := range secretFragments(data) {
		if strings.Contains(err.Error(), frag) {
			t.Fatalf("error leaks key material: %v", err)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	t.Parallel()
	rsaKey := genSigner(t, RS256, 0).(*rsa.PrivateKey)
	ecKey := genSigner(t, ES256, 0).(*ecdsa.PrivateKey)
	edKey := genSigner(t, EdDSA, 0).(ed25519.PrivateKey)

	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	ecParams := pemBlock(t, "EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name string
		data []byte
		want crypto.Signer
	}{
		{name: "ok/pkcs8-rsa", data: pkcs8(t, rsaKey), want: rsaKey},
		{name: "ok/pkcs8-ec", data: pkcs8(t, ecKey), want: ecKey},
		{name: "ok/pkcs8-ed25519", data: pkcs8(t, edKey), want: edKey},
		{name: "ok/pkcs1-rsa", data: pemBlock(t, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), want: rsaKey},
		{name: "ok/sec1-ec", data: pemBlock(t, "EC PRIVATE KEY", sec1), want: ecKey},
		{name: "ok/sec1-ec-after-ec-parameters", data: append(ecParams, pemBlock(t, "EC PRIVATE KEY", sec1)...), want: ecKey},
		{name: "ok/pem-with-surrounding-whitespace", data: append(append([]byte("\n\n  "), pkcs8(t, ecKey)...), "\n\n"...), want: ecKey},
		{name: "ok/jwk-rsa", data: privateJWK(t, rsaKey, "", ""), want: rsaKey},
		{name: "ok/jwk-ec", data: privateJWK(t, ecKey, "k", ES256), want: ecKey},
		{name: "ok/jwk-ed25519", data: privateJWK(t, edKey, "", ""), want: edKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParsePrivateKey(tt.data)
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			eq, ok := got.(interface{ Equal(crypto.PrivateKey) bool })
			if !ok || !eq.Equal(tt.want) {
				t.Fatalf("parsed key differs from the original (%T)", got)
			}
		})
	}
}

func TestParsePrivateKeyErrors(t *testing.T) {
	t.Parallel()
	rsaKey := genSigner(t, RS256, 0).(*rsa.PrivateKey)
	ecKey := genSigner(t, ES256, 0).(*ecdsa.PrivateKey)
	edKey := genSigner(t, EdDSA, 0).(ed25519.PrivateKey)
	otherEd := genSigner(t, EdDSA, 1).(ed25519.PrivateKey)

	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	x25519, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x25519DER, err := x509.MarshalPKCS8PrivateKey(x25519)
	if err != nil {
		t.Fatal(err)
	}
	// A JWK whose public member belongs to another key.
	var mixed map[string]any
	if err := json.Unmarshal(privateJWK(t, edKey, "", ""), &mixed); err != nil {
		t.Fatal(err)
	}
	mixed["x"] = base64.RawURLEncoding.EncodeToString(otherEd.Public().(ed25519.PublicKey))
	mixedJWK, _ := json.Marshal(mixed)
	var encJWK map[string]any
	_ = json.Unmarshal(privateJWK(t, ecKey, "", ""), &encJWK)
	encJWK["use"] = "enc"
	encJWKb, _ := json.Marshal(encJWK)
	publicJWK, _ := json.Marshal(jose4.JSONWebKey{Key: ecKey.Public()})
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1, 2, 3}})

	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		{name: "fail/empty", data: nil, wantErr: ErrMalformedKey, wantMsg: "empty"},
		{name: "fail/garbage", data: []byte("not a key at all"), wantErr: ErrMalformedKey, wantMsg: "neither PEM nor"},
		{name: "fail/public-key-pem", data: pemBlock(t, "PUBLIC KEY", pubDER), wantErr: ErrMalformedKey, wantMsg: "public"},
		{name: "fail/encrypted-pkcs8", data: pemBlock(t, "ENCRYPTED PRIVATE KEY", []byte{1, 2, 3}), wantErr: ErrMalformedKey, wantMsg: "encrypted"},
		{name: "fail/encrypted-legacy-pem", data: encrypted, wantErr: ErrMalformedKey, wantMsg: "encrypted"},
		{name: "fail/unknown-block", data: pemBlock(t, "OPENSSH PRIVATE KEY", []byte{1}), wantErr: ErrMalformedKey, wantMsg: "unsupported PEM block"},
		{name: "fail/two-keys", data: append(pkcs8(t, ecKey), pkcs8(t, edKey)...), wantErr: ErrMalformedKey, wantMsg: "one key per file"},
		{name: "fail/trailing-data", data: append(pkcs8(t, ecKey), "junk"...), wantErr: ErrMalformedKey, wantMsg: "after the PEM block"},
		{name: "fail/only-ec-parameters", data: pemBlock(t, "EC PARAMETERS", []byte{6, 1, 1}), wantErr: ErrMalformedKey, wantMsg: "no private key block"},
		{name: "fail/pkcs8-corrupt", data: pemBlock(t, "PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), wantErr: ErrMalformedKey, wantMsg: "PKCS#8"},
		{name: "fail/pkcs1-corrupt", data: pemBlock(t, "RSA PRIVATE KEY", []byte{0x30, 0x00}), wantErr: ErrMalformedKey, wantMsg: "PKCS#1"},
		{name: "fail/sec1-corrupt", data: pemBlock(t, "EC PRIVATE KEY", []byte{0x30, 0x00}), wantErr: ErrMalformedKey, wantMsg: "SEC 1"},
		{name: "fail/pkcs8-x25519-cannot-sign", data: pemBlock(t, "PRIVATE KEY", x25519DER), wantErr: ErrMalformedKey, wantMsg: "cannot sign"},
		{name: "fail/jwk-public", data: publicJWK, wantErr: ErrMalformedKey, wantMsg: "public"},
		{name: "fail/jwk-bad-json", data: []byte(`{"kty":"EC",`), wantErr: ErrMalformedKey, wantMsg: "JSON Web Key"},
		{name: "fail/jwk-halves-mismatch", data: mixedJWK, wantErr: ErrMalformedKey, wantMsg: "does not match"},
		{name: "fail/jwk-use-enc", data: encJWKb, wantErr: ErrMalformedKey, wantMsg: "use"},
		{name: "fail/jwk-symmetric", data: []byte(`{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0"}`), wantErr: ErrMalformedKey, wantMsg: "cannot sign"},
		{name: "fail/too-large", data: make([]byte, MaxKeyFileSize+1), wantErr: ErrMalformedKey, wantMsg: "more than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParsePrivateKey(tt.data)
			if err == nil {
				t.Fatalf("ParsePrivateKey succeeded (%T), want error", k)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %q does not say %q", err, tt.wantMsg)
			}
			assertNoSecrets(t, err, tt.data)
		})
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	rsaKey := genSigner(t, RS256, 0)
	ecKey := genSigner(t, ES256, 0)
	edKey := genSigner(t, EdDSA, 0)
	ecThumb, err := Thumbprint(ecKey.Public())
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		data      []byte
		kid, alg  string
		state     State
		wantKID   string
		wantAlg   string
		wantErr   error
		wantInMsg string
	}{
		{name: "ok/pem-given-kid-alg", data: pkcs8(t, rsaKey), kid: "rs-1", alg: RS256, state: StateActive, wantKID: "rs-1", wantAlg: RS256},
		{name: "ok/pem-empty-kid-is-thumbprint", data: pkcs8(t, ecKey), alg: ES256, state: StateNext, wantKID: ecThumb, wantAlg: ES256},
		{name: "ok/pem-empty-alg-from-key-type", data: pkcs8(t, edKey), kid: "ed", state: StateRetired, wantKID: "ed", wantAlg: EdDSA},
		{name: "ok/jwk-kid-and-alg-from-jwk", data: privateJWK(t, ecKey, "from-jwk", ES256), state: StateActive, wantKID: "from-jwk", wantAlg: ES256},
		{name: "ok/jwk-agreeing-kid", data: privateJWK(t, ecKey, "same", ES256), kid: "same", alg: ES256, state: StateActive, wantKID: "same", wantAlg: ES256},
		{name: "fail/jwk-kid-conflict", data: privateJWK(t, ecKey, "jwk-kid", ""), kid: "config-kid", state: StateActive, wantErr: ErrInvalidSet, wantInMsg: "kid"},
		{name: "fail/jwk-alg-conflict", data: privateJWK(t, rsaKey, "", RS256), alg: ES256, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "JWK says"},
		{name: "fail/rs256-with-ec", data: pkcs8(t, ecKey), alg: RS256, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "needs an RSA key"},
		{name: "fail/rs256-with-rsa-1024", data: pkcs8(t, genSigner(t, "RSA-1024", 0)), alg: RS256, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "at least 2048"},
		{name: "fail/es256-with-p384", data: pkcs8(t, genSigner(t, "P-384", 0)), alg: ES256, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "P-256"},
		{name: "fail/es256-with-rsa", data: pkcs8(t, rsaKey), alg: ES256, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "P-256"},
		{name: "fail/eddsa-with-ec", data: pkcs8(t, ecKey), alg: EdDSA, state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "Ed25519"},
		{name: "fail/p384-no-alg-fits", data: pkcs8(t, genSigner(t, "P-384", 0)), state: StateActive, wantErr: ErrKeyMismatch, wantInMsg: "no supported algorithm"},
		{name: "fail/unsupported-alg", data: pkcs8(t, rsaKey), alg: "HS256", state: StateActive, wantErr: ErrUnsupportedAlg, wantInMsg: "HS256"},
		{name: "fail/bad-state", data: pkcs8(t, rsaKey), alg: RS256, state: "enabled", wantErr: ErrInvalidSet, wantInMsg: "state"},
		{name: "fail/malformed", data: []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), state: StateActive, wantErr: ErrMalformedKey, wantInMsg: "PKCS#8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "key", tt.data)
			k, err := LoadFile(path, tt.kid, tt.alg, tt.state)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("LoadFile error %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantInMsg) {
					t.Fatalf("error %q must name the file and say %q", err, tt.wantInMsg)
				}
				assertNoSecrets(t, err, tt.data)
				return
			}
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if k.KID != tt.wantKID || k.Alg != tt.wantAlg || k.State != tt.state || k.Private == nil {
				t.Fatalf("got kid %q alg %q state %q, want %q %q %q", k.KID, k.Alg, k.State, tt.wantKID, tt.wantAlg, tt.state)
			}
		})
	}
}

func TestLoadFileMissing(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.pem")
	_, err := LoadFile(path, "k", ES256, StateActive)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error %v, want not-exist", err)
	}
	if strings.Count(err.Error(), path) != 1 {
		t.Fatalf("error %q should name the file once", err)
	}
}
