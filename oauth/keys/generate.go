package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// GeneratedRSABits is the modulus size [Generate] uses for RS256.
const GeneratedRSABits = 2048

// Generate makes a fresh private key for alg from crypto/rand: RS256 gets RSA-2048 (the RFC 7518
// minimum and the size most providers publish), ES256 P-256, EdDSA Ed25519. The Key is
// [StateActive] and its kid is the RFC 7638 thumbprint of the public key (see [Thumbprint]), so the
// same key always gets the same kid and [LoadFile] with an empty kid derives it again.
// Used by `actas keys generate` and by `--dev`.
func Generate(alg string) (Key, error) {
	var (
		priv crypto.Signer
		err  error
	)
	switch alg {
	case RS256:
		priv, err = rsa.GenerateKey(rand.Reader, GeneratedRSABits)
	case ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return Key{}, fmt.Errorf("keys: generate: %w: %.20q (use one of RS256, ES256, EdDSA)", ErrUnsupportedAlg, alg)
	}
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return Key{}, fmt.Errorf("keys: generate %s: %w", alg, err)
	}
	return Key{KID: kid, Alg: alg, State: StateActive, Private: priv}, nil
}

// EncodePEM writes the private key as one unencrypted PKCS#8 "PRIVATE KEY" PEM block (RFC 5208,
// RFC 7468), the form [ParsePrivateKey] and openssl read. The kid, alg and state are not part of the
// output; they belong in the configuration next to the file path. The result is a secret: write it
// to a file with mode 0600 and never log it.
func EncodePEM(k Key) ([]byte, error) {
	if k.Private == nil {
		return nil, fmt.Errorf("keys: encode %q: %w: no private key", k.KID, ErrMalformedKey)
	}
	if err := checkKeyAlg(k.Private, k.Alg); err != nil {
		return nil, fmt.Errorf("keys: encode %q: %w", k.KID, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return nil, fmt.Errorf("keys: encode %q: %w", k.KID, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}
