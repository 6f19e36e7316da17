package config

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/actas-dev/actas/internal/argon2id"
)

func (c *Config) validateUsers(p *problems) {
	ids := map[string]int{}
	names := map[string]int{} // lower-cased usernames: "Alice" and "alice" may not both exist
	for i, u := range c.Users {
		at := func(field string) string { return fmt.Sprintf("users[%d].%s", i, field) }
		switch prev, dup := ids[u.ID]; {
		case u.ID == "":
			p.add(at("id"), "required")
		case !isToken(u.ID):
			p.add(at("id"), "must not contain spaces or control characters")
		case dup:
			p.add(at("id"), "%q used twice (also users[%d])", u.ID, prev)
		default:
			ids[u.ID] = i
		}
		lower := strings.ToLower(u.Username)
		switch prev, dup := names[lower]; {
		case u.Username == "":
			p.add(at("username"), "required")
		case !isToken(u.Username):
			p.add(at("username"), "must not contain spaces or control characters")
		case dup:
			p.add(at("username"), "%q used twice (also users[%d]; usernames are compared without case)", u.Username, prev)
		default:
			names[lower] = i
		}
		if u.Email != "" {
			if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
				p.add(at("email"), "must be a bare e-mail address such as alice@example.com")
			}
		}
		for j, r := range u.Roles {
			if !isToken(r) {
				p.add(fmt.Sprintf("%s[%d]", at("roles"), j), "must be a non-empty role name without spaces")
			}
		}
		if u.PasswordHash == "" {
			p.add(at("password_hash"), "required (an argon2id hash from `actas users hash-password`)")
		} else if _, err := parseArgon2id(u.PasswordHash); err != nil {
			p.add(at("password_hash"), "%v", err)
		}
		if u.TOTPSecret != "" {
			if err := checkTOTPSecret(u.TOTPSecret); err != nil {
				p.add(at("totp_secret"), "%v", err)
			}
		}
	}
}

// parseArgon2id parses a password hash with the login pages' own parser, so that configuration
// accepts exactly the hashes signing in can verify. Its errors never contain the hash.
func parseArgon2id(s string) (argon2id.Hash, error) {
	h, err := argon2id.Parse(s)
	if err != nil {
		return h, fmt.Errorf("must be an argon2id hash as `actas users hash-password` prints it: %w", err)
	}
	return h, nil
}

// minTOTPSecretBytes is RFC 4226 §4 R6's least shared-secret length (128 bits).
const minTOTPSecretBytes = 16

// totpEncoding is RFC 4648 base32 as authenticator apps read it: upper case, padding optional.
var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// checkTOTPSecret requires upper-case RFC 4648 base32 that decodes to at least 16 bytes. Its errors
// never contain the secret.
func checkTOTPSecret(s string) error {
	b, err := totpEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		return errors.New("must be upper-case base32 (RFC 4648, A-Z and 2-7) without spaces")
	}
	if len(b) < minTOTPSecretBytes {
		return fmt.Errorf("must decode to at least %d bytes (RFC 4226 §4), is %d", minTOTPSecretBytes, len(b))
	}
	return nil
}
