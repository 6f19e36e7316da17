package config

import (
	"crypto/subtle"
	"encoding/base32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// demoTable is the documented demo data (docs/configuration.md); the code must match it.
var demoTable = []struct {
	id, username, password, role, tenant, totp string
	impersonationAllowed                       bool
}{
	{"u-alice", "alice", "alice-demo-pass", "customer", "acme", "", true},
	{"u-bob", "bob", "bob-demo-pass", "customer", "acme", "", true},
	{"u-carol", "carol", "carol-demo-pass", "customer", "globex", "", true},
	{"u-dave", "dave", "dave-demo-pass", "customer", "acme", "", false},
	{"u-sam", "sam", "sam-demo-pass", "support", "acme", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", true},
	{"u-ada", "ada", "ada-demo-pass", "admin", "acme", "KRUGKIDROVUWG2ZAMJZG653OEBTG66BA", true},
	{"u-sue", "sue", "sue-demo-pass", "super_admin", "acme", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", true},
	{"u-otto", "otto", "otto-demo-pass", "auditor", "acme", "ONSWG4TFOQQGC3TEEBZWK3DSMV2A2222", true},
}

func TestDemoUsersMatchTheDocumentedTable(t *testing.T) {
	t.Parallel()
	users := DemoUsers()
	if len(users) != len(demoTable) {
		t.Fatalf("%d demo users; the table has %d", len(users), len(demoTable))
	}
	for i, want := range demoTable {
		u := users[i]
		if u.ID != want.id || u.Username != want.username || u.Tenant != want.tenant ||
			len(u.Roles) != 1 || u.Roles[0] != want.role || u.TOTPSecret != want.totp ||
			u.ImpersonationAllowed != want.impersonationAllowed || u.Disabled {
			t.Errorf("user %d = %+v; want %+v", i, u, want)
		}
	}
	if users[0].Email != "alice@example.com" {
		t.Errorf("alice's e-mail = %q", users[0].Email)
	}
}

// TestDemoPasswordHashes recomputes each demo hash from its documented password with the
// documented parameters (argon2id, m=19456 KiB, t=2, p=1, 16-byte salt, 32-byte key).
func TestDemoPasswordHashes(t *testing.T) {
	t.Parallel()
	users := DemoUsers()
	for i, want := range demoTable {
		t.Run("ok/"+want.username, func(t *testing.T) {
			t.Parallel()
			h, err := parseArgon2id(users[i].PasswordHash)
			if err != nil {
				t.Fatal(err)
			}
			if h.Memory != 19456 || h.Time != 2 || h.Threads != 1 || len(h.Salt) != 16 || len(h.Key) != 32 {
				t.Fatalf("parameters m=%d t=%d p=%d salt %d key %d; want 19456, 2, 1, 16, 32",
					h.Memory, h.Time, h.Threads, len(h.Salt), len(h.Key))
			}
			verify := func(pw string) bool {
				got := argon2.IDKey([]byte(pw), h.Salt, h.Time, h.Memory, h.Threads, uint32(len(h.Key)))
				return subtle.ConstantTimeCompare(got, h.Key) == 1
			}
			if !verify(want.password) {
				t.Fatalf("hash of %s does not match %q", want.username, want.password)
			}
			if verify(want.password + "x") {
				t.Fatal("hash matches a wrong password")
			}
		})
	}
}

func TestDemoTOTPSecrets(t *testing.T) {
	t.Parallel()
	for _, u := range DemoUsers() {
		if u.TOTPSecret == "" {
			continue
		}
		b, err := base32.StdEncoding.DecodeString(u.TOTPSecret)
		if err != nil || len(b) < 16 {
			t.Errorf("%s: TOTP secret decodes to %d bytes (%v); want >= 16", u.Username, len(b), err)
		}
	}
}

func TestDemoClients(t *testing.T) {
	t.Parallel()
	cs := DemoClients()
	byID := map[string]Client{}
	for _, c := range cs {
		byID[c.ID] = c
	}
	spa, mobile, console, api := byID["demo-spa"], byID["demo-mobile"], byID["demo-console"], byID["demo-api"]
	switch {
	case len(cs) != 4:
		t.Fatalf("%d demo clients", len(cs))
	case !spa.Public || spa.FirstParty || spa.Secret != "" || spa.RedirectURIs[0] != "http://127.0.0.1:5555/callback":
		t.Errorf("demo-spa = %+v", spa)
	case !mobile.Public || !mobile.FirstParty || mobile.HandoffURIs[0] != "com.example.actasdemo:/handoff":
		t.Errorf("demo-mobile = %+v", mobile)
	case console.Public || console.Secret != "demo-console-secret-7Qm2v9XrL4tB8nKcW1zY5pHd3sJf6gAe" ||
		console.ExchangeFor[0] != "demo-spa" || len(console.GrantTypes) != 4 || len(console.Audience) != 2:
		t.Errorf("demo-console = %+v", console)
	case api.Public || api.Secret != "demo-api-secret-Vb8Tq3Lm9Xw2Rk5Nz7Hc4Jp6Ds1Fg0Ya" ||
		len(api.GrantTypes) != 1 || api.Scopes[0] != "actas:introspect":
		t.Errorf("demo-api = %+v", api)
	}
}

// TestDevConfigFile: deploy/dev/actas.yaml is accepted outside dev mode and carries exactly the
// demo data of --dev.
func TestDevConfigFile(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{File: filepath.Join("..", "deploy", "dev", "actas.yaml"), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	dev := Dev()
	assertEqual(t, "users", canon(c.Users), canon(dev.Users))
	assertEqual(t, "clients", canon(c.Clients), canon(dev.Clients))
	if c.Dev || c.Issuer != dev.Issuer || c.Log.Format != dev.Log.Format || c.Login.CookieSecure ||
		c.Storage.Backend != BackendMemory || len(c.Secrets.Global) < 32 || len(c.Keys) != 2 {
		t.Errorf("deploy/dev/actas.yaml settings differ from dev mode: %+v", c.Redacted())
	}
}

func TestExampleConfigFile(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{File: filepath.Join("..", "deploy", "config.example.yaml"), Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Storage.Backend != BackendRedis || c.Storage.Redis.URL != "redis://127.0.0.1:6379/0" ||
		c.Secrets.GlobalFile == "" || c.Clients[1].SecretFile == "" || !strings.HasPrefix(c.Issuer, "https://") {
		t.Errorf("example is not production-shaped: %+v", c.Redacted())
	}
}

// TestDocsCoverEveryKey keeps docs/configuration.md in step with the schema and the demo data.
func TestDocsCoverEveryKey(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, k := range scalarKeys(configType, "") {
		if !strings.Contains(doc, "`"+envName(k.key)+"`") {
			t.Errorf("docs/configuration.md does not document %s (%s)", k.key, envName(k.key))
		}
	}
	for _, u := range demoTable {
		if !containsAll(doc, u.username, u.password) || (u.totp != "" && !strings.Contains(doc, u.totp)) {
			t.Errorf("docs/configuration.md lacks the demo user %s", u.username)
		}
	}
	for _, s := range []string{DemoConsoleClientSecret, DemoAPIClientSecret, "com.example.actasdemo:/callback"} {
		if !strings.Contains(doc, s) {
			t.Errorf("docs/configuration.md lacks %s", s)
		}
	}
}
