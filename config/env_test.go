package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvNames(t *testing.T) {
	t.Parallel()
	seen := map[string]string{}
	var keys []string
	for _, k := range scalarKeys(configType, "") {
		name := envName(k.key)
		if prev, dup := seen[name]; dup {
			t.Errorf("%s and %s both map to %s", prev, k.key, name)
		}
		seen[name] = k.key
		keys = append(keys, k.key)
	}
	for key, name := range map[string]string{
		"storage.redis.key_prefix": "ACTAS_STORAGE_REDIS_KEY_PREFIX",
		"storage.redis.url":        "ACTAS_STORAGE_REDIS_URL",
		"server.public.addr":       "ACTAS_SERVER_PUBLIC_ADDR",
		"storage.backend":          "ACTAS_STORAGE_BACKEND",
		"secrets.global_file":      "ACTAS_SECRETS_GLOBAL_FILE",
		"issuer":                   "ACTAS_ISSUER",
	} {
		if seen[name] != key {
			t.Errorf("%s maps to %q; want %s", name, seen[name], key)
		}
	}
	for _, list := range []string{"clients", "users", "keys", "server.trusted_proxies", "storage.redis.addrs", "secrets.previous", "consent.me_scopes"} {
		if slices.ContainsFunc(keys, func(k string) bool { return k == list || strings.HasPrefix(k, list+".") }) {
			t.Errorf("list %s must not be settable from the environment", list)
		}
	}
}

func TestLoadEnv(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		env   []string
		check func(c *Config) bool
	}{
		{"ok/key-with-underscore", []string{"ACTAS_STORAGE_REDIS_KEY_PREFIX=tenant-a:"},
			func(c *Config) bool { return c.Storage.Redis.KeyPrefix == "tenant-a:" }},
		{"ok/redis-with-dev", []string{"ACTAS_STORAGE_BACKEND=redis", "ACTAS_STORAGE_REDIS_URL=redis://127.0.0.1:6379/2"},
			func(c *Config) bool {
				return c.Storage.Backend == BackendRedis && c.Storage.Redis.URL == "redis://127.0.0.1:6379/2"
			}},
		{"ok/int", []string{"ACTAS_STORAGE_REDIS_DB=3", "ACTAS_SERVER_PUBLIC_MAX_BODY_BYTES=1024"},
			func(c *Config) bool { return c.Storage.Redis.DB == 3 && c.Server.Public.MaxBodyBytes == 1024 }},
		{"ok/bool", []string{"ACTAS_LOGIN_COOKIE_SECURE=true", "ACTAS_TOKENS_ENFORCE_PKCE=1"},
			func(c *Config) bool { return c.Login.CookieSecure && c.Tokens.EnforcePKCE }},
		{"ok/duration", []string{"ACTAS_TOKENS_ACCESS_TOKEN_LIFESPAN=5m"},
			func(c *Config) bool { return c.Tokens.AccessTokenLifespan == 5*time.Minute }},
		{"ok/issuer", []string{"ACTAS_ISSUER=https://id.example.com"},
			func(c *Config) bool { return c.Issuer == "https://id.example.com" }},
		{"ok/last-one-wins", []string{"ACTAS_LOG_LEVEL=warn", "ACTAS_LOG_LEVEL=error"},
			func(c *Config) bool { return c.Log.Level == "error" }},
		{"ok/empty-value-is-unset", []string{"ACTAS_LOG_LEVEL="},
			func(c *Config) bool { return c.Log.Level == "info" }},
		{"ok/test-helper-variables-ignored", []string{"ACTAS_TEST_REDIS_URL=redis://x:1", "ACTAS_TEST_REQUIRE_REDIS=1"},
			func(c *Config) bool { return c.Storage.Backend == BackendMemory }},
		{"ok/other-variables-ignored", []string{"PATH=/bin", "HOME=/home/user", "actas_log_level=warn", "NOT_ACTAS_X=1"},
			func(c *Config) bool { return c.Log.Level == "info" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load(LoadOptions{Dev: true, Env: tc.env})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("override not applied: %+v", c)
			}
		})
	}
}

func TestLoadEnvErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		env    []string
		keys   []string // every FieldError key expected, in order
		target error
	}{
		{"fail/unknown-variable", []string{"ACTAS_STORAGE_REDIS_URI=redis://x:1"}, []string{"ACTAS_STORAGE_REDIS_URI"}, ErrUnknownEnv},
		{"fail/naive-split-name", []string{"ACTAS_STORAGE_REDIS_KEY_PREFIX_=x"}, []string{"ACTAS_STORAGE_REDIS_KEY_PREFIX_"}, ErrUnknownEnv},
		{"fail/section-not-scalar", []string{"ACTAS_STORAGE_REDIS=x"}, []string{"ACTAS_STORAGE_REDIS"}, ErrUnknownEnv},
		{"fail/list-from-env", []string{"ACTAS_CLIENTS=x", "ACTAS_STORAGE_REDIS_ADDRS=a:1,b:2"},
			[]string{"ACTAS_CLIENTS", "ACTAS_STORAGE_REDIS_ADDRS"}, ErrUnknownEnv},
		{"fail/unknown-even-when-empty", []string{"ACTAS_LOG_LEVL="}, []string{"ACTAS_LOG_LEVL"}, ErrUnknownEnv},
		{"fail/bad-int", []string{"ACTAS_STORAGE_REDIS_DB=three"}, []string{"ACTAS_STORAGE_REDIS_DB"}, ErrInvalid},
		{"fail/bad-bool", []string{"ACTAS_LOGIN_COOKIE_SECURE=maybe"}, []string{"ACTAS_LOGIN_COOKIE_SECURE"}, ErrInvalid},
		{"fail/duration-without-unit", []string{"ACTAS_STORAGE_TIMEOUT=500"}, []string{"ACTAS_STORAGE_TIMEOUT"}, ErrInvalid},
		{"fail/bad-value-then-validation", []string{"ACTAS_STORAGE_BACKEND=redis"}, []string{"storage.redis.url"}, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(LoadOptions{Dev: true, Env: tc.env})
			if got := errKeys(err); !slices.Equal(got, tc.keys) {
				t.Fatalf("error keys = %v; want %v\n%v", got, tc.keys, err)
			}
			if !errors.Is(err, tc.target) {
				t.Fatalf("%v does not match %v", err, tc.target)
			}
		})
	}
}

func TestLoadEnvErrorHidesValue(t *testing.T) {
	t.Parallel()
	_, err := Load(LoadOptions{Dev: true, Env: []string{"ACTAS_SECRETS_GLOBL=hunter2-hunter2-hunter2-hunter2-x"}})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error must name the variable and hide its value: %v", err)
	}
}

func TestLoadFlags(t *testing.T) {
	t.Parallel()
	c, err := Load(LoadOptions{Dev: true, Env: []string{}, Flags: map[string]string{
		"server.public.addr": "127.0.0.1:7100", "server.ops.addr": "127.0.0.1:7101", "log.level": "debug",
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Server.Public.Addr != "127.0.0.1:7100" || c.Server.Ops.Addr != "127.0.0.1:7101" || c.Log.Level != "debug" {
		t.Fatalf("flags not applied: %+v %+v", c.Server, c.Log)
	}
	_, err = Load(LoadOptions{Dev: true, Env: []string{}, Flags: map[string]string{"server.pubic.addr": "x", "clients": "y"}})
	wantFieldError(t, err, "server.pubic.addr", ErrUnknownKey)
	wantFieldError(t, err, "clients", ErrUnknownKey)
	_, err = Load(LoadOptions{Dev: true, Env: []string{}, Flags: map[string]string{"storage.timeout": "soon"}})
	wantFieldError(t, err, "storage.timeout", ErrInvalid)
}
