package config

import (
	"strings"
	"testing"
)

func TestValidateUsers(t *testing.T) {
	t.Parallel()
	// User indexes in the demo data: 0 alice, 1 bob, …, 4 sam (with TOTP).
	u := func(i int, mut func(u *User)) func(*Config) { return func(c *Config) { mut(&c.Users[i]) } }
	hash := func(h string) func(*Config) { return u(1, func(u *User) { u.PasswordHash = h }) }
	totp := func(s string) func(*Config) { return u(1, func(u *User) { u.TOTPSecret = s }) }
	good := DemoUsers()[0].PasswordHash
	parts := strings.Split(good, "$") // "", "argon2id", "v=19", params, salt, hash
	runValidate(t, []vcase{
		{"ok/no-roles", u(1, func(u *User) { u.Roles = nil }), ""},
		{"ok/several-roles", u(1, func(u *User) { u.Roles = []string{"customer", "beta_tester"} }), ""},
		{"ok/no-email", u(1, func(u *User) { u.Email = "" }), ""},
		{"ok/disabled", u(1, func(u *User) { u.Disabled = true }), ""},
		{"fail/id-empty", u(1, func(u *User) { u.ID = "" }), "users[1].id"},
		{"fail/id-used-twice", u(1, func(u *User) { u.ID = "u-alice" }), "users[1].id"},
		{"fail/username-empty", u(1, func(u *User) { u.Username = "" }), "users[1].username"},
		{"fail/username-with-space", u(1, func(u *User) { u.Username = "bob smith" }), "users[1].username"},
		{"fail/username-used-twice", u(1, func(u *User) { u.Username = "alice" }), "users[1].username"},
		{"fail/username-used-twice-other-case", u(1, func(u *User) { u.Username = "Alice" }), "users[1].username"},
		{"fail/email-invalid", u(1, func(u *User) { u.Email = "bob-at-example.com" }), "users[1].email"},
		{"fail/email-with-name", u(1, func(u *User) { u.Email = "Bob <bob@example.com>" }), "users[1].email"},
		{"fail/role-empty", u(1, func(u *User) { u.Roles = []string{"customer", ""} }), "users[1].roles[1]"},
		{"fail/role-with-space", u(1, func(u *User) { u.Roles = []string{"super admin"} }), "users[1].roles[0]"},

		// password hash: argon2id PHC strings only
		{"fail/hash-missing", hash(""), "users[1].password_hash"},
		{"fail/hash-plain-password", hash("bob-demo-pass"), "users[1].password_hash"},
		{"fail/hash-bcrypt", hash("$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"), "users[1].password_hash"},
		{"fail/hash-argon2i", hash(strings.Replace(good, "$argon2id$", "$argon2i$", 1)), "users[1].password_hash"},
		{"fail/hash-version-16", hash(strings.Replace(good, "v=19", "v=16", 1)), "users[1].password_hash"},
		{"fail/hash-missing-param", hash(strings.Replace(good, ",p=1", "", 1)), "users[1].password_hash"},
		{"fail/hash-zero-time", hash(strings.Replace(good, "t=2", "t=0", 1)), "users[1].password_hash"},
		{"fail/hash-bad-salt", hash(strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$")), "users[1].password_hash"},
		{"fail/hash-short-key", hash(strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$")), "users[1].password_hash"},
		{"fail/hash-extra-field", hash(good + "$x"), "users[1].password_hash"},
		// What signing in cannot verify is refused here too (one parser, internal/argon2id).
		{"fail/hash-reordered-params", hash(strings.Replace(good, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1)), "users[1].password_hash"},
		{"fail/hash-leading-zero", hash(strings.Replace(good, "p=1", "p=01", 1)), "users[1].password_hash"},
		{"fail/hash-huge-memory", hash(strings.Replace(good, "m=19456", "m=4194304", 1)), "users[1].password_hash"},
		{"fail/hash-255-lanes", hash(strings.Replace(good, "m=19456,t=2,p=1", "m=19456,t=2,p=255", 1)), "users[1].password_hash"},

		// TOTP secret: RFC 4648 base32, at least 16 bytes (RFC 4226 §4)
		{"ok/totp-20-bytes", totp("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), ""},
		{"ok/totp-16-bytes-padded", totp("JBSWY3DPEHPK3PXPJBSWY3DPEE======"), ""},
		{"fail/totp-lower-case", totp("jbswy3dpehpk3pxpjbswy3dpehpk3pxp"), "users[1].totp_secret"},
		{"fail/totp-not-base32", totp("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX1"), "users[1].totp_secret"},
		{"fail/totp-with-spaces", totp("JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"), "users[1].totp_secret"},
		{"fail/totp-10-bytes", totp("JBSWY3DPEHPK3PXP"), "users[1].totp_secret"},
	})
}

func TestValidateErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	c.Users[1].PasswordHash = "bob-demo-pass"
	c.Users[1].TOTPSecret = "jbswy3dpehpk3pxp"
	c.Clients[2].Secret = "tiny-secret"
	c.Secrets.Global = "global-short"
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, s := range []string{"bob-demo-pass", "jbswy3dpehpk3pxp", "tiny-secret", "global-short"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text contains the secret %q:\n%v", s, err)
		}
	}
}
