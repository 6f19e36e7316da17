package oauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"

	"github.com/ory/fosite"
)

// SecretHasher stores client secrets under HMAC-SHA256 with a server key and compares them in
// constant time.
//
// Client secrets are generated with ≥ 256 bits of entropy: they are not passwords, so a slow
// password hash buys nothing and would cap the token endpoint at a few requests per second (bcrypt at
// fosite's default cost). The key makes a stolen store useless for offline guessing without the
// server's secret as well.
type SecretHasher struct {
	keys [][]byte // keys[0] hashes; all are accepted by Compare (secret rotation across replicas)
}

var _ fosite.Hasher = (*SecretHasher)(nil)

// ErrSecretMismatch is returned by Compare when the secret is wrong.
var ErrSecretMismatch = errors.New("client secret mismatch")

// NewSecretHasher derives the hashing key from the server's global secret; hashes made under a
// previous global secret still compare equal, so replicas mid-rotation accept each other's records.
func NewSecretHasher(globalSecret []byte, previous ...[]byte) *SecretHasher {
	h := &SecretHasher{}
	for _, s := range append([][]byte{globalSecret}, previous...) {
		m := hmac.New(sha256.New, s)
		m.Write([]byte("actas client secret hash v1"))
		h.keys = append(h.keys, m.Sum(nil))
	}
	return h
}

func mac(key, secret []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(secret)
	return m.Sum(nil)
}

// Hash returns HMAC-SHA256(key, secret) under the current key.
func (h *SecretHasher) Hash(_ context.Context, secret []byte) ([]byte, error) {
	return mac(h.keys[0], secret), nil
}

// Compare reports whether secret hashes to hash under any accepted key, in constant time.
func (h *SecretHasher) Compare(_ context.Context, hash, secret []byte) error {
	ok := 0
	for _, k := range h.keys {
		ok |= subtle.ConstantTimeCompare(hash, mac(k, secret))
	}
	if ok == 0 || len(hash) == 0 {
		return ErrSecretMismatch
	}
	return nil
}
