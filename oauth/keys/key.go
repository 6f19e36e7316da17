package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	jose4 "github.com/go-jose/go-jose/v4"
)

// State is where a key is in its lifecycle. See the package documentation.
type State string

// The key states.
const (
	StateNext    State = "next"    // published, verifies, does not sign yet
	StateActive  State = "active"  // signs; at most one per algorithm
	StateRetired State = "retired" // published, verifies, no longer signs
	StateRemoved State = "removed" // neither published nor verified
)

// Valid reports whether s is one of the four states.
func (s State) Valid() bool {
	switch s {
	case StateNext, StateActive, StateRetired, StateRemoved:
		return true
	}
	return false
}

// published reports whether keys in state s appear in the JWKS and verify tokens.
func (s State) published() bool {
	return s == StateNext || s == StateActive || s == StateRetired
}

// The supported JWS algorithms (RFC 7518 §3.1, RFC 8037 §3.1).
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256; RSA keys of at least 2048 bits
	ES256 = "ES256" // ECDSA on P-256 with SHA-256
	EdDSA = "EdDSA" // Ed25519
)

// MinRSABits is the smallest RSA modulus accepted for RS256 (RFC 7518 §3.3).
const MinRSABits = 2048

// SupportedAlgs lists the algorithms this package signs and verifies with.
func SupportedAlgs() []string { return []string{RS256, ES256, EdDSA} }

// Key is one signing key with its identity and lifecycle state. The public half is derived from
// Private.
type Key struct {
	KID     string
	Alg     string
	State   State
	Private crypto.Signer
}

// Public returns the public half of the key, or nil when there is no private key.
func (k Key) Public() crypto.PublicKey {
	if k.Private == nil {
		return nil
	}
	return k.Private.Public()
}

// checkKeyAlg verifies that the private key has the type and size alg requires.
func checkKeyAlg(priv crypto.Signer, alg string) error {
	switch alg {
	case RS256:
		k, ok := priv.(*rsa.PrivateKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an RSA key, got %s", ErrKeyMismatch, alg, keyType(priv))
		}
		if bits := k.N.BitLen(); bits < MinRSABits {
			return fmt.Errorf("%w: %s needs an RSA key of at least %d bits, got %d", ErrKeyMismatch, alg, MinRSABits, bits)
		}
	case ES256:
		k, ok := priv.(*ecdsa.PrivateKey)
		if !ok {
			return fmt.Errorf("%w: %s needs an ECDSA P-256 key, got %s", ErrKeyMismatch, alg, keyType(priv))
		}
		if k.Curve != elliptic.P256() {
			return fmt.Errorf("%w: %s needs an ECDSA P-256 key, got %s", ErrKeyMismatch, alg, keyType(priv))
		}
	case EdDSA:
		k, ok := priv.(ed25519.PrivateKey)
		if !ok || len(k) != ed25519.PrivateKeySize {
			return fmt.Errorf("%w: %s needs an Ed25519 key, got %s", ErrKeyMismatch, alg, keyType(priv))
		}
	default:
		return fmt.Errorf("%w: %q (use one of RS256, ES256, EdDSA)", ErrUnsupportedAlg, alg)
	}
	return nil
}

// algForKey returns the one supported algorithm that fits the key's type.
func algForKey(priv crypto.Signer) (string, error) {
	switch k := priv.(type) {
	case *rsa.PrivateKey:
		return RS256, nil
	case *ecdsa.PrivateKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	case ed25519.PrivateKey:
		return EdDSA, nil
	}
	return "", fmt.Errorf("%w: no supported algorithm for a %s key", ErrKeyMismatch, keyType(priv))
}

// keyType names a key's type for error messages, without any key material.
func keyType(k any) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		if k.Curve == nil {
			return "ECDSA"
		}
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "Ed25519"
	case nil:
		return "no key"
	default:
		return fmt.Sprintf("%T", k)
	}
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url without padding) of a public
// key. actas uses it as the default `kid`: it is stable, derived from the key alone, and reveals
// nothing beyond the public key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	jwk := jose4.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("keys: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}
