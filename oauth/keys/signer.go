package keys

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/ory/fosite/token/jwt"
)

// maxTokenLen bounds the tokens the signer parses.
const maxTokenLen = 64 << 10

// HeaderAlg is the header key through which a caller picks the signing algorithm for one token
// (see [Holder.Signer]).
const HeaderAlg = "alg"

// Signer returns a fosite [jwt.Signer] over the holder's current set; it replaces fosite's
// DefaultSigner, which knows one key, ignores kid and cannot verify Ed25519.
//
// Generate signs with the active key of defaultAlg. A caller picks another algorithm for one token
// by putting "alg" in the header mapper (header.Get("alg"), e.g. Headers.Add("alg", "ES256") on an
// ID-token session whose client registered id_token_signed_response_alg); it must name an
// algorithm with an active key, or Generate fails instead of silently signing with another one.
// fosite's openid.IDTokenHandleHelper.ComputeHash reads the same header value to choose the at_hash
// digest, so both stay in step. The signer sets "kid" to the key it signs with (overriding any kid
// in the mapper) and keeps every other header value, "typ" included (RFC 9068 access tokens carry
// "at+jwt", which the session's GetJWTHeader must add: fosite does not); without one, "typ" is
// "JWT" as with fosite's DefaultSigner.
//
// Decode and Validate accept only compact JWS tokens whose header kid names a next, active or
// retired key of the current set and whose header alg is that key's algorithm; anything else
// ("none", HS256 keyed with a public key, a kid of another algorithm, no kid) fails before any
// signature check. Then they verify the signature and check exp, iat and nbf exactly as fosite's
// DefaultSigner does (jwt.MapClaims.Valid, no leeway), returning fosite's *jwt.ValidationError so
// fosite maps failures to ErrTokenSignatureMismatch, ErrTokenExpired, etc. As with DefaultSigner,
// when only the claims are invalid (e.g. expired, which id_token_hint tolerates) Decode returns the
// verified token together with the error; when the signature or key check fails it returns nil.
//
// Hash and GetSigningMethodLength follow defaultAlg: SHA-256 (32 bytes) for RS256 and ES256, and
// SHA-512 (64 bytes) for EdDSA, the digest OIDC implementations (e.g. go-oidc) use for at_hash and
// c_hash with Ed25519. See [TokenHash].
func (h *Holder) Signer(defaultAlg string) jwt.Signer {
	return &signer{h: h, defaultAlg: defaultAlg}
}

type signer struct {
	h          *Holder
	defaultAlg string
}

var _ jwt.Signer = (*signer)(nil)

// Generate signs claims; see [Holder.Signer].
func (s *signer) Generate(_ context.Context, claims jwt.MapClaims, header jwt.Mapper) (string, string, error) {
	if claims == nil || header == nil {
		return "", "", errors.New("keys: sign: claims or header is nil")
	}
	set, err := s.h.set()
	if err != nil {
		return "", "", fmt.Errorf("keys: sign: %w", err)
	}
	alg := s.defaultAlg
	if a, ok := header.Get(HeaderAlg).(string); ok && a != "" {
		alg = a
	}
	e, ok := set.active[alg]
	if !ok {
		return "", "", fmt.Errorf("keys: sign: %w %.20q", ErrNoActiveKey, alg)
	}
	hdr := make(map[string]any, 4)
	for k, v := range header.ToMap() {
		hdr[k] = v
	}
	hdr["kid"] = e.key.KID
	if _, ok := hdr["typ"]; !ok {
		hdr["typ"] = jwt.JWTHeaderTypeValue
	}
	raw, err := signCompact(e.key, hdr, claims) // sets alg from the key
	if err != nil {
		return "", "", fmt.Errorf("keys: sign with %q: %w", e.key.KID, err)
	}
	return raw, raw[strings.LastIndexByte(raw, '.')+1:], nil
}

// Decode verifies token and returns it; see [Holder.Signer].
func (s *signer) Decode(_ context.Context, token string) (*jwt.Token, error) {
	if !isCompactJWS(token) {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorMalformed, Inner: fmt.Errorf("keys: %w: not a compact JWS", ErrInvalidToken)}
	}
	set, err := s.h.set()
	if err != nil {
		return nil, fmt.Errorf("keys: verify: %w", err)
	}
	if tok, ok := set.verified.get(token, time.Now()); ok {
		// The signature was verified by this very key set; the time-based claims are checked
		// again, exactly as ParseWithClaims does after a signature check.
		if err := tok.Claims.Valid(); err != nil {
			return tok, err
		}
		return tok, nil
	}
	tok, err := jwt.ParseWithClaims(token, jwt.MapClaims{}, set.keyFunc)
	if err != nil {
		var ve *jwt.ValidationError
		if !errors.As(err, &ve) || ve.Has(jwt.ValidationErrorMalformed|jwt.ValidationErrorUnverifiable|jwt.ValidationErrorSignatureInvalid) {
			return nil, err
		}
		return tok, err
	}
	set.verified.put(token, tok)
	return tok, nil
}

// keyFunc picks the verification key by kid and refuses any alg but that key's.
func (s *Set) keyFunc(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	e, ok := s.entry(kid)
	if !ok {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorUnverifiable, Inner: fmt.Errorf("keys: %w %.80q", ErrUnknownKey, kid)}
	}
	if string(t.Method) != e.key.Alg {
		return nil, &jwt.ValidationError{Errors: jwt.ValidationErrorUnverifiable, Inner: fmt.Errorf("keys: %w: header alg %.20q, key %q is %s", ErrAlgMismatch, t.Method, kid, e.key.Alg)}
	}
	return e.verifyKey, nil
}

// Validate verifies token and returns its signature part; see [Holder.Signer].
func (s *signer) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return token[strings.LastIndexByte(token, '.')+1:], nil
}

// GetSignature returns the signature part of a compact JWT without verifying it.
func (s *signer) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("keys: header, body and signature must all be set")
	}
	return parts[2], nil
}

// Hash digests in with the hash of the default algorithm; see [Holder.Signer].
func (s *signer) Hash(_ context.Context, in []byte) ([]byte, error) {
	h := newHash(s.defaultAlg)
	h.Write(in)
	return h.Sum(nil), nil
}

// GetSigningMethodLength returns the size of [signer.Hash]'s output.
func (s *signer) GetSigningMethodLength(context.Context) int {
	return newHash(s.defaultAlg).Size()
}

// newHash returns the digest OIDC pairs with alg: SHA-512 for EdDSA, SHA-256 otherwise.
func newHash(alg string) hash.Hash {
	if alg == EdDSA {
		return sha512.New()
	}
	return sha256.New()
}

// HashFor returns the digest OIDC Core §3.1.3.6 pairs with alg for at_hash and c_hash: SHA-256 for
// RS256 and ES256, SHA-512 for EdDSA (Ed25519; what go-oidc and other relying parties expect).
func HashFor(alg string) (crypto.Hash, error) {
	switch alg {
	case RS256, ES256:
		return crypto.SHA256, nil
	case EdDSA:
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("keys: %w %.20q", ErrUnsupportedAlg, alg)
}

// TokenHash computes an at_hash or c_hash value (OIDC Core §3.1.3.6, §3.3.2.11): the base64url
// encoding of the left half of the digest of value's ASCII bytes, with the digest [HashFor] alg.
//
// fosite's openid.IDTokenHandleHelper.ComputeHash uses SHA-256 for "EdDSA", so an EdDSA ID token
// whose at_hash fosite computed would fail the checks of relying parties that use SHA-512; the
// provider's token endpoint recomputes it with this function (oauth.Provider.fixEdDSAAtHash).
func TokenHash(alg, value string) (string, error) {
	hf, err := HashFor(alg)
	if err != nil {
		return "", err
	}
	h := hf.New()
	h.Write([]byte(value))
	sum := h.Sum(nil)
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2]), nil
}

// isCompactJWS reports whether token has the shape of a compact JWS: three base64url parts. This
// keeps go-jose's JSON serialization, and oversized input, away from the parser.
func isCompactJWS(token string) bool {
	if len(token) == 0 || len(token) > maxTokenLen {
		return false
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c == '.':
			dots++
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return dots == 2
}
