package keys

import (
	"encoding/json"
	"fmt"
	"strings"

	josejwt4 "github.com/go-jose/go-jose/v4/jwt"
)

// Verified is a JWT whose signature a published key of the set verified. Only the signature, the
// kid/alg pairing and the type were checked: the caller must still validate exp, nbf, iat, iss and
// aud (e.g. with go-jose v4 jwt.Claims.ValidateWithLeeway and its own clock).
type Verified struct {
	KID  string // the key that verified the token
	Alg  string // its algorithm, equal to the header alg
	Type string // the header typ as sent, "" when absent

	payload []byte
}

// Claims decodes the verified claims set into each of out (structs or maps), as
// go-jose's jwt.JSONWebToken.Claims does.
func (v *Verified) Claims(out ...any) error {
	for _, o := range out {
		if err := json.Unmarshal(v.payload, o); err != nil {
			return fmt.Errorf("keys: decode claims: %w", err)
		}
	}
	return nil
}

// VerifyJWT verifies a compact JWS signed by one of our own keys, for code outside fosite (token
// exchange verifying subject and actor tokens). It parses with go-jose v4 and an explicit
// allow-list, the algorithms of the set's published keys, then requires the header kid to name a
// next, active or retired key and the header alg to be that key's algorithm, and verifies the
// signature with that key alone.
//
// When allowedTypes is not empty the header typ must match one of them (RFC 8725 §3.11), compared
// as media types per RFC 7515 §4.1.9: case-insensitively, with an optional "application/" prefix;
// e.g. "at+jwt" matches "application/at+JWT". A token without typ then fails.
//
// Errors wrap [ErrNoKeySet], [ErrInvalidToken], [ErrUnknownKey] or [ErrAlgMismatch]. Time claims are
// not checked: see [Verified].
func (h *Holder) VerifyJWT(token string, allowedTypes ...string) (*Verified, error) {
	set, err := h.set()
	if err != nil {
		return nil, fmt.Errorf("keys: verify: %w", err)
	}
	if !isCompactJWS(token) {
		return nil, fmt.Errorf("keys: verify: %w: not a compact JWS", ErrInvalidToken)
	}
	tok, err := josejwt4.ParseSigned(token, set.verifyAlgs)
	if err != nil {
		return nil, fmt.Errorf("keys: verify: %w: %v", ErrInvalidToken, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("keys: verify: %w: want one signature", ErrInvalidToken)
	}
	hd := tok.Headers[0]
	e, ok := set.entry(hd.KeyID)
	if !ok {
		return nil, fmt.Errorf("keys: verify: %w %.80q", ErrUnknownKey, hd.KeyID)
	}
	if hd.Algorithm != e.key.Alg {
		return nil, fmt.Errorf("keys: verify: %w: header alg %.20q, key %q is %s", ErrAlgMismatch, hd.Algorithm, hd.KeyID, e.key.Alg)
	}
	typ, _ := hd.ExtraHeaders["typ"].(string)
	if len(allowedTypes) > 0 && !typeAllowed(typ, allowedTypes) {
		return nil, fmt.Errorf("keys: verify: %w: typ %.40q is not one of %q", ErrInvalidToken, typ, allowedTypes)
	}
	var payload json.RawMessage
	if err := tok.Claims(e.key.Public(), &payload); err != nil {
		return nil, fmt.Errorf("keys: verify: %w: %v", ErrInvalidToken, err)
	}
	return &Verified{KID: e.key.KID, Alg: e.key.Alg, Type: typ, payload: payload}, nil
}

func typeAllowed(typ string, allowed []string) bool {
	if typ == "" {
		return false
	}
	t := normalizeType(typ)
	for _, a := range allowed {
		if normalizeType(a) == t {
			return true
		}
	}
	return false
}

// normalizeType lower-cases a media type and drops an "application/" prefix (RFC 7515 §4.1.9).
func normalizeType(t string) string {
	t = strings.ToLower(t)
	return strings.TrimPrefix(t, "application/")
}
