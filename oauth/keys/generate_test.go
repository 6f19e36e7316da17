package keys

import (
	"crypto"
	"errors"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	for _, alg := range SupportedAlgs() {
		t.Run("ok/"+alg, func(t *testing.T) {
			t.Parallel()
			k, err := Generate(alg)
			if err != nil {
				t.Fatalf("Generate: %v", err)
			}
			if k.Alg != alg || k.State != StateActive {
				t.Fatalf("got alg %q state %q", k.Alg, k.State)
			}
			if err := checkKeyAlg(k.Private, alg); err != nil {
				t.Fatalf("generated key does not fit: %v", err)
			}
			thumb, err := Thumbprint(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			if k.KID != thumb || len(k.KID) != 43 {
				t.Fatalf("kid %q is not the RFC 7638 SHA-256 thumbprint %q", k.KID, thumb)
			}
			pemData, err := EncodePEM(k)
			if err != nil {
				t.Fatalf("EncodePEM: %v", err)
			}
			back, err := ParsePrivateKey(pemData)
			if err != nil {
				t.Fatalf("ParsePrivateKey(EncodePEM): %v", err)
			}
			if !back.(interface{ Equal(crypto.PrivateKey) bool }).Equal(k.Private) {
				t.Fatal("PEM round trip changed the key")
			}
			loaded, err := LoadFile(writeFile(t, "k.pem", pemData), "", "", StateNext)
			if err != nil {
				t.Fatalf("LoadFile: %v", err)
			}
			if loaded.KID != k.KID || loaded.Alg != alg {
				t.Fatalf("LoadFile derived kid %q alg %q, want %q %q", loaded.KID, loaded.Alg, k.KID, alg)
			}
			other, err := Generate(alg)
			if err != nil {
				t.Fatal(err)
			}
			if other.KID == k.KID {
				t.Fatal("two generated keys share a kid")
			}
		})
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func() error
		want error
	}{
		{name: "fail/generate-hs256", run: func() error { _, err := Generate("HS256"); return err }, want: ErrUnsupportedAlg},
		{name: "fail/generate-none", run: func() error { _, err := Generate("none"); return err }, want: ErrUnsupportedAlg},
		{name: "fail/encode-no-key", run: func() error { _, err := EncodePEM(Key{KID: "k", Alg: ES256}); return err }, want: ErrMalformedKey},
		{name: "fail/encode-alg-mismatch", run: func() error {
			_, err := EncodePEM(testKey(t, ES256, 0, "k", StateActive).withAlg(EdDSA))
			return err
		}, want: ErrKeyMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if err := tt.run(); !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
		})
	}
}

func (k Key) withAlg(alg string) Key { k.Alg = alg; return k }
