package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// es256Size is the size of an ES256 signature: R and S, 32 bytes each (RFC 7518 §3.4).
const es256Size = 64

// signCompact returns the compact serialization (RFC 7515 §7.1) of a JWS whose protected header
// is header with "alg" set to k's algorithm (header is changed) and whose payload is the JSON of
// claims, signed with k.
//
// Only the signing is done here, with the standard library; every token is still parsed and
// verified with go-jose. go-jose's JWT builder, which fosite's jwt.Token uses, encodes the claims
// three times (to normalise them, then to sign) with its own, slower JSON package, which cost
// nearly as much as the ES256 signature itself.
func signCompact(k Key, header, claims map[string]any) (string, error) {
	header[HeaderAlg] = k.Alg
	h, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, enc.EncodedLen(len(h))+enc.EncodedLen(len(p))+enc.EncodedLen(512)+2)
	buf = enc.AppendEncode(buf, h)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, p)
	sig, err := signInput(k, buf)
	if err != nil {
		return "", err
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// signInput signs a JWS signing input (RFC 7515 §5.1) with k, in k.Alg's encoding (RFC 7518 §3.3,
// §3.4; RFC 8037 §3.1).
func signInput(k Key, input []byte) ([]byte, error) {
	switch priv := k.Private.(type) {
	case *ecdsa.PrivateKey:
		if k.Alg != ES256 {
			break
		}
		d := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv, d[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, es256Size)
		r.FillBytes(sig[:es256Size/2])
		s.FillBytes(sig[es256Size/2:])
		return sig, nil
	case *rsa.PrivateKey:
		if k.Alg != RS256 {
			break
		}
		d := sha256.Sum256(input)
		return rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, d[:])
	case ed25519.PrivateKey:
		if k.Alg != EdDSA {
			break
		}
		return ed25519.Sign(priv, input), nil
	}
	return nil, fmt.Errorf("%w: %s with a %s key", ErrKeyMismatch, k.Alg, keyType(k.Private))
}
