package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestLoadNeedsFileOrDev(t *testing.T) {
	t.Parallel()
	_, err := Load(LoadOptions{Env: []string{}})
	if !errors.Is(err, ErrNoConfig) || err.Error() != "no configuration: give --config FILE or --dev" {
		t.Fatalf("Load() = %v; want ErrNoConfig", err)
	}
}

func TestLoadDev(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{Dev: true, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := Dev()
	switch {
	case !c.Dev:
		t.Error("Dev not set")
	case c.Issuer != "http://127.0.0.1:8080":
		t.Errorf("issuer = %q", c.Issuer)
	case c.Log.Format != LogFormatText || c.Login.CookieSecure || c.Storage.Backend != BackendMemory:
		t.Errorf("dev defaults not applied: log %q, cookie_secure %v, backend %q", c.Log.Format, c.Login.CookieSecure, c.Storage.Backend)
	case len(c.Keys) != 0 || c.Secrets.Global != "":
		t.Error("dev mode must not carry keys or a global secret: the server generates them")
	}
	assertEqual(t, "clients", canon(c.Clients), canon(want.Clients))
	assertEqual(t, "users", canon(c.Users), canon(want.Users))
}

// TestLoadPrecedence: defaults < dev defaults < file < env < flags.
func TestLoadPrecedence(t *testing.T) {
	t.Parallel()
	file := writeMinimal(t, "server: {public: {addr: 127.0.0.1:7001}}\nlog: {format: json}\n")
	env := []string{"ACTAS_SERVER_PUBLIC_ADDR=127.0.0.1:7002"}
	flags := map[string]string{"server.public.addr": "127.0.0.1:7003"}
	for _, tc := range []struct {
		name       string
		opts       LoadOptions
		addr, fmt  string
		wantIssuer string
	}{
		{"ok/defaults-and-dev", LoadOptions{Dev: true}, "127.0.0.1:8080", "text", "http://127.0.0.1:8080"},
		{"ok/file-over-dev", LoadOptions{Dev: true, File: file}, "127.0.0.1:7001", "json", "https://id.example.com"},
		{"ok/file-over-defaults", LoadOptions{File: file}, "127.0.0.1:7001", "json", "https://id.example.com"},
		{"ok/env-over-file", LoadOptions{File: file, Env: env}, "127.0.0.1:7002", "json", "https://id.example.com"},
		{"ok/flag-over-env", LoadOptions{File: file, Env: env, Flags: flags}, "127.0.0.1:7003", "json", "https://id.example.com"},
		{"ok/flag-moves-dev-issuer", LoadOptions{Dev: true, Flags: flags}, "127.0.0.1:7003", "text", "http://127.0.0.1:7003"},
		{"ok/env-over-dev", LoadOptions{Dev: true, Env: []string{"ACTAS_LOG_FORMAT=json"}}, "127.0.0.1:8080", "json", "http://127.0.0.1:8080"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.opts.Env == nil {
				tc.opts.Env = []string{}
			}
			c, err := Load(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if c.Server.Public.Addr != tc.addr || c.Log.Format != tc.fmt || c.Issuer != tc.wantIssuer {
				t.Fatalf("addr %q, log.format %q, issuer %q; want %q, %q, %q",
					c.Server.Public.Addr, c.Log.Format, c.Issuer, tc.addr, tc.fmt, tc.wantIssuer)
			}
		})
	}
}

func TestLoadFileListsReplaceDevLists(t *testing.T) {
	t.Parallel()
	file := writeFile(t, t.TempDir(), "a.yaml", `
users:
  - {id: u-1, username: one, password_hash: "`+DemoUsers()[0].PasswordHash+`"}
`)
	c, err := Load(LoadOptions{Dev: true, File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 1 || c.Users[0].ID != "u-1" {
		t.Fatalf("users = %+v; want only u-1", c.Users)
	}
	if len(c.Clients) != len(DemoClients()) {
		t.Fatalf("clients were not kept from the dev defaults: %d", len(c.Clients))
	}
}

func TestLoadElementDefaults(t *testing.T) {
	t.Parallel()
	h := DemoUsers()[0].PasswordHash
	file := writeMinimal(t, `
clients:
  - {id: a, public: true, redirect_uris: ["https://a.example.com/cb"]}
  - {id: b, secret: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, grant_types: [client_credentials], scopes: []}
users:
  - {id: u-1, username: one, password_hash: "`+h+`"}
  - {id: u-2, username: two, password_hash: "`+h+`", impersonation_allowed: false}
`)
	c, err := Load(LoadOptions{File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	assertEqual(t, "clients[0].grant_types", c.Clients[0].GrantTypes, []string{"authorization_code", "refresh_token"})
	assertEqual(t, "clients[0].scopes", c.Clients[0].Scopes, []string{"openid", "profile", "email", "offline_access"})
	assertEqual(t, "clients[1].grant_types", c.Clients[1].GrantTypes, []string{"client_credentials"})
	if len(c.Clients[1].Scopes) != 0 {
		t.Errorf("an explicit empty scope list was replaced by %v", c.Clients[1].Scopes)
	}
	if !c.Users[0].ImpersonationAllowed || c.Users[1].ImpersonationAllowed {
		t.Errorf("impersonation_allowed = %v, %v; want true (omitted), false (explicit)",
			c.Users[0].ImpersonationAllowed, c.Users[1].ImpersonationAllowed)
	}
}

func TestLoadIssuerDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "es.pem", "k")
	writeFile(t, dir, "rs.pem", "k")
	body := strings.Replace(minimalYAML, "issuer: https://id.example.com\n", "", 1)
	file := writeFile(t, dir, "a.yaml", body+"server: {public: {addr: 127.0.0.1:7001}}\n")
	c, err := Load(LoadOptions{File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "http://127.0.0.1:7001" {
		t.Fatalf("issuer = %q; want it derived from server.public.addr", c.Issuer)
	}
	// Derived from a non-loopback address, it is plain http and refused outside dev mode.
	file = writeFile(t, dir, "b.yaml", body+"server: {public: {addr: 0.0.0.0:8080}}\n")
	_, err = Load(LoadOptions{File: file, Env: []string{}})
	wantFieldError(t, err, "issuer", ErrInvalid)
}

func TestLoadFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, yaml string
		key        string // the FieldError key expected ("" for errors about the file itself)
		target     error
		contains   []string
	}{
		{"fail/unknown-top-level-key", "isuer: https://x.example.com\n", "isuer", ErrUnknownKey, []string{"line 1"}},
		{"fail/unknown-nested-key", "server:\n  public:\n    adr: 1.2.3.4:80\n", "server.public.adr", ErrUnknownKey, []string{"line 3"}},
		{"fail/unknown-key-in-list", "clients:\n  - id: a\n    secrt: x\n", "clients[0].secrt", ErrUnknownKey, []string{"line 3"}},
		{"fail/keys-are-case-sensitive", "Issuer: https://x.example.com\n", "Issuer", ErrUnknownKey, nil},
		{"fail/unknown-policy-key", "policy: {enabld: true}\n", "policy.enabld", ErrUnknownKey, nil},
		{"fail/section-not-a-mapping", "server: 8080\n", "server", nil, []string{"mapping"}},
		{"fail/list-not-a-list", "users: {id: a}\n", "users", nil, []string{"list"}},
		{"fail/malformed-yaml", "server:\n  public: {addr: x\n", "", ErrSyntax, []string{"a.yaml", "line"}},
		{"fail/tab-indent", "server:\n\tpublic: {}\n", "", ErrSyntax, []string{"a.yaml", "line 2"}},
		{"fail/duplicate-key", "issuer: a\nissuer: b\n", "", ErrSyntax, []string{"line 2", `"issuer" already defined`}},
		{"fail/unknown-anchor", "issuer: *nope\n", "", ErrSyntax, []string{"a.yaml", "nope"}},
		{"fail/duration-without-unit", "server: {shutdown_timeout: 20}\n", "server.shutdown_timeout", ErrInvalid, []string{"unit"}},
		{"fail/duration-garbage", "tokens: {access_token_lifespan: soon}\n", "tokens.access_token_lifespan", ErrInvalid, []string{"Go duration"}},
		{"fail/int-as-string", "storage: {redis: {db: one}}\n", "storage.redis.db", ErrInvalid, []string{"integer"}},
		{"fail/int-quoted", "storage: {redis: {db: \"1\"}}\n", "storage.redis.db", ErrInvalid, []string{"integer"}},
		{"fail/bool-as-number", "tokens: {enforce_pkce: 1}\n", "tokens.enforce_pkce", ErrInvalid, []string{"boolean"}},
		{"fail/string-list-as-comma-string", "clients:\n  - {id: a, scopes: \"openid,email\"}\n", "clients[0].scopes", ErrInvalid, []string{"list"}},
		{"fail/bool-as-word", "login: {cookie_secure: yes please}\n", "login.cookie_secure", ErrInvalid, []string{"boolean"}},
		{"fail/string-as-list", "server: {public: {addr: [a]}}\n", "server.public.addr", ErrInvalid, []string{"list"}},
		{"fail/list-element-type", "clients:\n  - {id: a, lifespans: {access_token: 5}}\n", "clients[0].lifespans.access_token", ErrInvalid, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, t.TempDir(), "a.yaml", tc.yaml)
			_, err := Load(LoadOptions{File: file, Env: []string{}})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.key != "" {
				wantFieldError(t, err, tc.key, tc.target)
			} else if !errors.Is(err, tc.target) {
				t.Fatalf("error %v does not match %v", err, tc.target)
			}
			if strings.Contains(err.Error(), "\n") && len(FieldErrors(err)) < 2 {
				t.Fatalf("one problem must be one line: %q", err)
			}
			if !containsAll(err.Error(), tc.contains...) {
				t.Fatalf("error %q does not mention %q", err, tc.contains)
			}
		})
	}
}

func TestLoadEmptyFile(t *testing.T) {
	t.Parallel()
	for _, body := range []string{"", "# only a comment\n", "---\n", "~\n"} {
		file := writeFile(t, t.TempDir(), "a.yaml", body)
		c, err := Load(LoadOptions{File: file, Dev: true, Env: []string{}})
		if err != nil {
			t.Fatalf("%q: %v", body, err)
		}
		assertEqual(t, "users", canon(c.Users), canon(DemoUsers()))
	}
}

func TestLoadZeroDurationAndMissingFile(t *testing.T) {
	t.Parallel()
	file := writeMinimal(t, "clients:\n  - {id: a, public: true, redirect_uris: [\"https://a.example.com/cb\"], lifespans: {access_token: 0, id_token: 90s}}\n")
	c, err := Load(LoadOptions{File: file, Env: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Clients[0].Lifespans.AccessToken != 0 || c.Clients[0].Lifespans.IDToken != 90*time.Second {
		t.Fatalf("lifespans = %+v", c.Clients[0].Lifespans)
	}
	_, err = Load(LoadOptions{File: "does-not-exist.yaml", Env: []string{}})
	if err == nil || !containsAll(err.Error(), "does-not-exist.yaml", "no such file") {
		t.Fatalf("Load(missing) = %v", err)
	}
}

// TestLoadConsentMeScopes: a customer's token needs actas:consent to answer access requests unless
// the file says otherwise; an explicit empty list opens the routes to any of their tokens.
func TestLoadConsentMeScopes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, extra string
		want        []string
	}{
		{"default", "", []string{DefaultConsentScope}},
		{"explicit-empty", "consent: {me_scopes: []}\n", []string{}},
		{"explicit", "consent: {me_scopes: [app:consent, actas:consent]}\n", []string{"app:consent", "actas:consent"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(LoadOptions{File: writeMinimal(t, tc.extra), Env: []string{}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Consent.MeScopes, tc.want) {
				t.Fatalf("consent.me_scopes = %q, want %q", c.Consent.MeScopes, tc.want)
			}
		})
	}
}
