package login

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"golang.org/x/crypto/argon2"

	"github.com/actas-dev/actas/internal/argon2id"
)

// argonParams are the argon2id cost parameters (RFC 9106 §3.1).
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// defaultArgon are OWASP's minimum recommendation for argon2id: 19 MiB, 2 passes, 1 lane.
var defaultArgon = argonParams{memory: 19456, time: 2, threads: 1}

const (
	saltLen        = 16
	keyLen         = 32
	maxPasswordLen = 1024
)

// dummyHash is verified against when the username is unknown, so that an unknown user costs the
// same hash computation as a wrong password and response time does not reveal which usernames
// exist. No password matches it (its key is random bytes, not derived from any input we know).
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$kx8K9s1iXc3ixcJezW6k5w$/XmaJgG5FbCOysxSm6R+/HEobmyOxC0Jhqngkk0fYZY"

// HashPassword hashes pw with argon2id (RFC 9106) and returns the PHC string
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>" (unpadded standard base64, 16-byte random salt,
// 32-byte key). This is what `actas users hash-password` prints for the configuration.
func HashPassword(pw string) (string, error) {
	return hashPassword(pw, defaultArgon)
}

func hashPassword(pw string, p argonParams) (string, error) {
	if pw == "" || len(pw) > maxPasswordLen {
		return "", fmt.Errorf("login: password must be 1 to %d bytes", maxPasswordLen)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("login: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, keyLen)
	return argon2id.Hash{Memory: p.memory, Time: p.time, Threads: p.threads, Salt: salt, Key: key}.String(), nil
}

// VerifyPassword reports whether pw matches hash, a PHC argon2id string as made by [HashPassword].
// The cost parameters, salt and key length are read from hash (within sane bounds), and the keys are
// compared in constant time. A malformed hash is an error wrapping [ErrInvalidHash], never a match.
func VerifyPassword(hash, pw string) (bool, error) {
	p, salt, key, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	if len(pw) > maxPasswordLen {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// verifyPassword is VerifyPassword bounded by the service's hash semaphore: each computation holds
// 19 MiB, so concurrent logins queue instead of exhausting memory.
func (s *Service) verifyPassword(ctx context.Context, hash, pw string) (bool, error) {
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashSem }()
	return VerifyPassword(hash, pw)
}

// parseHash reads a PHC argon2id string with [argon2id.Parse], the parser configuration validation
// uses too; its errors wrap [ErrInvalidHash].
func parseHash(hash string) (argonParams, []byte, []byte, error) {
	h, err := argon2id.Parse(hash)
	if err != nil {
		return argonParams{}, nil, nil, fmt.Errorf("%w: %w", ErrInvalidHash, err)
	}
	return argonParams{memory: h.Memory, time: h.Time, threads: h.Threads}, h.Salt, h.Key, nil
}
