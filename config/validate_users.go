package config

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
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

// argon2idHash is a parsed argon2id PHC string.
type argon2idHash struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
	Salt    []byte
	Key     []byte
}

// parseArgon2id parses "$argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash>" with salt and
// hash in unpadded standard base64 (the PHC string format, as the reference implementation writes
// it). Its errors never contain the hash.
func parseArgon2id(s string) (argon2idHash, error) {
	var h argon2idHash
	if !strings.HasPrefix(s, "$argon2id$") {
		return h, errors.New("must be an argon2id hash starting with $argon2id$")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return h, errors.New("must have the form $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[2] != "v=19" {
		return h, errors.New("must be argon2 version 19 (v=19)")
	}
	params := map[string]uint64{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return h, errors.New("has bad parameters; want m=<KiB>,t=<passes>,p=<threads>")
		}
		params[k] = n
	}
	m, okM := params["m"]
	t, okT := params["t"]
	th, okP := params["p"]
	if len(params) != 3 || !okM || !okT || !okP || th > 255 || m < 8*th {
		return h, errors.New("has bad parameters; want m=<KiB>,t=<passes>,p=<threads>")
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return h, errors.New("has a bad salt or hash (unpadded base64; salt >= 8 bytes, hash >= 16 bytes)")
	}
	return argon2idHash{Memory: uint32(m), Time: uint32(t), Threads: uint8(th), Salt: salt, Key: key}, nil
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
