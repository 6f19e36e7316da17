package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	jose4 "github.com/go-jose/go-jose/v4"
)

// MaxKeyFileSize bounds what [ParsePrivateKey] and [LoadFile] read; a private key of any supported
// kind fits in a few kilobytes.
const MaxKeyFileSize = 64 << 10

// maxRSABits bounds RSA keys: larger keys make every signature cost seconds.
const maxRSABits = 8192

// jwkMeta is what a JWK says about itself besides the key.
type jwkMeta struct {
	KID, Alg, Use string
}

// ParsePrivateKey reads one private signing key from data, which is either
//
//   - PEM: a "PRIVATE KEY" (PKCS#8, RFC 5208), an "EC PRIVATE KEY" (SEC 1, RFC 5915; a preceding
//     "EC PARAMETERS" block, as `openssl ecparam -genkey` writes, is skipped) or an
//     "RSA PRIVATE KEY" (PKCS#1, RFC 8017) block, unencrypted, one key per file; or
//   - a private JSON Web Key (RFC 7517; kty RSA, EC or OKP/Ed25519).
//
// The key must be RSA (2048 to 8192 bits), ECDSA or Ed25519, and its private and public halves
// must match (checked by signing and verifying a test message). Errors wrap [ErrMalformedKey] or
// [ErrKeyMismatch] and say what was wrong; they never contain key material.
func ParsePrivateKey(data []byte) (crypto.Signer, error) {
	k, _, err := parsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return k, nil
}

func parsePrivateKey(data []byte) (crypto.Signer, jwkMeta, error) {
	if len(data) > MaxKeyFileSize {
		return nil, jwkMeta{}, fmt.Errorf("%w: %d bytes is more than the %d a key may have", ErrMalformedKey, len(data), MaxKeyFileSize)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, jwkMeta{}, fmt.Errorf("%w: empty", ErrMalformedKey)
	}
	if trimmed[0] == '{' {
		return parseJWK(trimmed)
	}
	k, err := parsePEM(trimmed)
	return k, jwkMeta{}, err
}

func parsePEM(data []byte) (crypto.Signer, error) {
	var (
		found crypto.Signer
		n     int
		rest  = data
	)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
			return nil, fmt.Errorf("%w: PEM block %q is encrypted; give an unencrypted key", ErrMalformedKey, block.Type)
		}
		var (
			k   crypto.Signer
			err error
		)
		switch block.Type {
		case "EC PARAMETERS":
			continue
		case "PRIVATE KEY":
			k, err = parsePKCS8(block.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(block.Bytes)
			if err != nil {
				err = fmt.Errorf("%w: EC PRIVATE KEY (SEC 1) block does not parse: %v", ErrMalformedKey, derReason(err))
			}
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				err = fmt.Errorf("%w: RSA PRIVATE KEY (PKCS#1) block does not parse: %v", ErrMalformedKey, derReason(err))
			}
		case "ENCRYPTED PRIVATE KEY":
			err = fmt.Errorf("%w: the PKCS#8 key is encrypted; give an unencrypted key", ErrMalformedKey)
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			err = fmt.Errorf("%w: found a %s block, which is public; give the private key", ErrMalformedKey, block.Type)
		default:
			err = fmt.Errorf("%w: unsupported PEM block type %.40q", ErrMalformedKey, block.Type)
		}
		if err != nil {
			return nil, err
		}
		found = k
		n++
	}
	if n == 0 {
		if found == nil && len(rest) == len(data) {
			return nil, fmt.Errorf("%w: neither PEM nor a JSON Web Key", ErrMalformedKey)
		}
		return nil, fmt.Errorf("%w: no private key block in the PEM data", ErrMalformedKey)
	}
	if n > 1 {
		return nil, fmt.Errorf("%w: %d private keys in one file; give one key per file", ErrMalformedKey, n)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: unexpected data after the PEM block", ErrMalformedKey)
	}
	if err := checkPrivateKey(found); err != nil {
		return nil, err
	}
	return found, nil
}

func parsePKCS8(der []byte) (crypto.Signer, error) {
	raw, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: PRIVATE KEY (PKCS#8) block does not parse: %v", ErrMalformedKey, derReason(err))
	}
	k, ok := raw.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: PKCS#8 key of type %T cannot sign", ErrMalformedKey, raw)
	}
	return k, nil
}

// derReason shortens encoding/asn1's verbose errors; x509's own are kept.
func derReason(err error) string {
	if msg := err.Error(); !strings.HasPrefix(msg, "asn1:") {
		return msg
	}
	return "invalid DER encoding"
}

func parseJWK(data []byte) (crypto.Signer, jwkMeta, error) {
	var jwk jose4.JSONWebKey
	if err := jwk.UnmarshalJSON(data); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, jwkMeta{}, fmt.Errorf("%w: JSON Web Key is not valid JSON (at byte %d)", ErrMalformedKey, se.Offset)
		}
		return nil, jwkMeta{}, fmt.Errorf("%w: JSON Web Key does not parse: %v", ErrMalformedKey, err)
	}
	meta := jwkMeta{KID: jwk.KeyID, Alg: jwk.Algorithm, Use: jwk.Use}
	if meta.Use != "" && meta.Use != "sig" {
		return nil, jwkMeta{}, fmt.Errorf("%w: JSON Web Key has use %.20q, want \"sig\"", ErrMalformedKey, meta.Use)
	}
	if jwk.IsPublic() {
		return nil, jwkMeta{}, fmt.Errorf("%w: JSON Web Key is public (no \"d\"); give the private key", ErrMalformedKey)
	}
	k, ok := jwk.Key.(crypto.Signer)
	if !ok {
		return nil, jwkMeta{}, fmt.Errorf("%w: JSON Web Key of type %T cannot sign", ErrMalformedKey, jwk.Key)
	}
	if err := checkPrivateKey(k); err != nil {
		return nil, jwkMeta{}, err
	}
	return k, meta, nil
}

// checkPrivateKey accepts RSA, ECDSA and Ed25519 keys whose halves match.
func checkPrivateKey(k crypto.Signer) error {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits > maxRSABits {
			return fmt.Errorf("%w: RSA key of %d bits is larger than %d", ErrKeyMismatch, bits, maxRSABits)
		}
		if err := k.Validate(); err != nil {
			return fmt.Errorf("%w: RSA key is inconsistent: %v", ErrMalformedKey, err)
		}
		k.Precompute()
	case *ecdsa.PrivateKey:
		if _, err := k.ECDH(); err != nil { // rejects unknown curves and out-of-range scalars
			return fmt.Errorf("%w: ECDSA key is invalid: %v", ErrMalformedKey, err)
		}
	case ed25519.PrivateKey:
		if len(k) != ed25519.PrivateKeySize {
			return fmt.Errorf("%w: Ed25519 key has the wrong length", ErrMalformedKey)
		}
	default:
		return fmt.Errorf("%w: keys of type %T are not supported (use RSA, ECDSA or Ed25519)", ErrKeyMismatch, k)
	}
	return selfTest(k)
}

// selfTest signs a fixed message and verifies it with the public half, which catches a JWK whose
// public members do not belong to its private ones.
func selfTest(k crypto.Signer) error {
	msg := []byte("actas key self-test")
	digest := sha256.Sum256(msg)
	var ok bool
	switch pub := k.Public().(type) {
	case *rsa.PublicKey:
		sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
		ok = err == nil && rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) == nil
	case *ecdsa.PublicKey:
		sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
		ok = err == nil && ecdsa.VerifyASN1(pub, digest[:], sig)
	case ed25519.PublicKey:
		sig, err := k.Sign(rand.Reader, msg, crypto.Hash(0))
		ok = err == nil && ed25519.Verify(pub, msg, sig)
	}
	if !ok {
		return fmt.Errorf("%w: the public half does not match the private key", ErrMalformedKey)
	}
	return nil
}

// LoadFile reads a private key file (any form [ParsePrivateKey] accepts) and returns it as a Key.
//
// An empty kid means: the JWK's own "kid" if it has one, else the RFC 7638 thumbprint (see
// [Thumbprint]; `actas keys generate` prints the same value). An empty alg means: the JWK's own
// "alg", else the one supported algorithm that fits the key type. A kid or alg given here that
// contradicts the JWK's is an error, and so is a key that does not fit alg. Every error names the
// file and never contains key material.
func LoadFile(path, kid, alg string, state State) (Key, error) {
	k, err := loadFile(path, kid, alg, state)
	if err != nil {
		return Key{}, fmt.Errorf("keys: key file %s: %w", path, err)
	}
	return k, nil
}

func loadFile(path, kid, alg string, state State) (Key, error) {
	if !state.Valid() {
		return Key{}, fmt.Errorf("%w: state %.20q (use next, active, retired or removed)", ErrInvalidSet, state)
	}
	f, err := os.Open(path)
	if err != nil {
		return Key{}, errors.Unwrap(err) // *PathError repeats the path; keep only the reason
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return Key{}, fmt.Errorf("read: %w", err)
	}
	priv, meta, err := parsePrivateKey(data)
	if err != nil {
		return Key{}, err
	}
	return keyFromParsed(priv, meta, kid, alg, state)
}

// keyFromParsed fills in kid and alg and checks them against the JWK metadata and the key.
func keyFromParsed(priv crypto.Signer, meta jwkMeta, kid, alg string, state State) (Key, error) {
	switch {
	case alg == "" && meta.Alg != "":
		alg = meta.Alg
	case alg == "":
		a, err := algForKey(priv)
		if err != nil {
			return Key{}, err
		}
		alg = a
	case meta.Alg != "" && meta.Alg != alg:
		return Key{}, fmt.Errorf("%w: configured alg %s but the JWK says %.20q", ErrKeyMismatch, alg, meta.Alg)
	}
	if err := checkKeyAlg(priv, alg); err != nil {
		return Key{}, err
	}
	switch {
	case kid == "" && meta.KID != "":
		kid = meta.KID
	case kid == "":
		t, err := Thumbprint(priv.Public())
		if err != nil {
			return Key{}, err
		}
		kid = t
	case meta.KID != "" && meta.KID != kid:
		return Key{}, fmt.Errorf("%w: configured kid %q but the JWK says %.100q", ErrInvalidSet, kid, meta.KID)
	}
	return Key{KID: kid, Alg: alg, State: state, Private: priv}, nil
}
