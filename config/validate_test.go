package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// vcase is one validation rule case: mut breaks (or keeps) a valid configuration, key is the key
// the error must name ("" when the result must be valid).
type vcase struct {
	name string
	mut  func(c *Config)
	key  string
}

func runValidate(t *testing.T, cases []vcase) {
	t.Helper()
	for _, tc := range cases {
		if strings.HasPrefix(tc.name, "ok/") != (tc.key == "") {
			t.Fatalf("case %s: ok/ cases must have no key, fail/ cases a key", tc.name)
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig(t)
			tc.mut(c)
			err := c.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("Validate() = %v; want nil", err)
				}
				return
			}
			wantFieldError(t, err, tc.key, ErrInvalid)
		})
	}
}

func TestValidateBaseline(t *testing.T) {
	t.Parallel()
	if err := validConfig(t).Validate(); err != nil {
		t.Fatalf("validConfig: %v", err)
	}
	if err := Dev().Validate(); err != nil {
		t.Fatalf("Dev(): %v", err)
	}
	d := Dev()
	d.Dev = false
	if err := d.Validate(); err == nil {
		t.Fatal("Dev() data outside dev mode (no keys, no secret) validated")
	}
}

func TestValidateReturnsEveryProblem(t *testing.T) {
	t.Parallel()
	c := validConfig(t)
	c.Storage.Backend = "sql"
	c.Log.Level = "loud"
	c.Clients[2].Secret = "short"
	err := c.Validate()
	got := errKeys(err)
	want := []string{"log.level", "storage.backend", "clients[2].secret"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("keys = %v; want %v\n%v", got, want, err)
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 3 {
		t.Fatalf("want one line per problem, got %d lines:\n%v", n, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatal("validation errors must match ErrInvalid")
	}
}

func TestValidateIssuer(t *testing.T) {
	t.Parallel()
	set := func(s string) func(*Config) { return func(c *Config) { c.Issuer = s } }
	runValidate(t, []vcase{
		{"ok/https", set("https://id.example.com"), ""},
		{"ok/https-with-path", set("https://example.com/auth"), ""},
		{"ok/http-loopback-ipv4", set("http://127.0.0.1:8080"), ""},
		{"ok/http-loopback-ipv6", set("http://[::1]:8080"), ""},
		{"ok/http-localhost", set("http://localhost:8080"), ""},
		{"ok/http-anywhere-in-dev", func(c *Config) { c.Dev = true; c.Issuer = "http://auth.internal:8080" }, ""},
		{"fail/empty", set(""), "issuer"},
		{"fail/http-not-loopback", set("http://id.example.com"), "issuer"},
		{"fail/no-scheme", set("id.example.com"), "issuer"},
		{"fail/other-scheme", set("ftp://id.example.com"), "issuer"},
		{"fail/no-host", set("https:///path"), "issuer"},
		{"fail/query", set("https://id.example.com?tenant=a"), "issuer"},
		{"fail/fragment", set("https://id.example.com#x"), "issuer"},
		{"fail/trailing-slash", set("https://id.example.com/"), "issuer"},
		{"fail/userinfo", set("https://user:pw@id.example.com"), "issuer"},
		{"fail/empty-port", set("https://id.example.com:"), "issuer"},
	})
}

func TestValidateServer(t *testing.T) {
	t.Parallel()
	runValidate(t, []vcase{
		{"ok/all-interfaces", func(c *Config) { c.Server.Public.Addr = ":8080" }, ""},
		{"ok/port-zero", func(c *Config) { c.Server.Public.Addr = "127.0.0.1:0"; c.Server.Ops.Addr = "127.0.0.1:0" }, ""},
		{"ok/trusted-proxies", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "fd00::/8", "192.0.2.7"} }, ""},
		{"fail/public-addr-without-port", func(c *Config) { c.Server.Public.Addr = "127.0.0.1" }, "server.public.addr"},
		{"fail/public-addr-empty", func(c *Config) { c.Server.Public.Addr = "" }, "server.public.addr"},
		{"fail/ops-addr-port-range", func(c *Config) { c.Server.Ops.Addr = "127.0.0.1:99999" }, "server.ops.addr"},
		{"fail/ops-addr-named-port", func(c *Config) { c.Server.Ops.Addr = "127.0.0.1:http" }, "server.ops.addr"},
		{"fail/ops-same-as-public", func(c *Config) { c.Server.Ops.Addr = c.Server.Public.Addr }, "server.ops.addr"},
		{"fail/read-header-timeout-zero", func(c *Config) { c.Server.Public.ReadHeaderTimeout = 0 }, "server.public.read_header_timeout"},
		{"fail/read-timeout-negative", func(c *Config) { c.Server.Public.ReadTimeout = -time.Second }, "server.public.read_timeout"},
		{"fail/write-timeout-zero", func(c *Config) { c.Server.Public.WriteTimeout = 0 }, "server.public.write_timeout"},
		{"fail/idle-timeout-zero", func(c *Config) { c.Server.Public.IdleTimeout = 0 }, "server.public.idle_timeout"},
		{"fail/max-body-bytes-zero", func(c *Config) { c.Server.Public.MaxBodyBytes = 0 }, "server.public.max_body_bytes"},
		{"fail/shutdown-timeout-zero", func(c *Config) { c.Server.ShutdownTimeout = 0 }, "server.shutdown_timeout"},
		{"fail/trusted-proxy-garbage", func(c *Config) { c.Server.TrustedProxies = []string{"10.0.0.0/8", "office"} }, "server.trusted_proxies[1]"},
		{"ok/log-text-debug", func(c *Config) { c.Log = Log{Format: "text", Level: "debug"} }, ""},
		{"fail/log-format", func(c *Config) { c.Log.Format = "xml" }, "log.format"},
		{"fail/log-level", func(c *Config) { c.Log.Level = "trace" }, "log.level"},
	})
}

func TestValidateStorage(t *testing.T) {
	t.Parallel()
	redis := func(mut func(r *Redis)) func(*Config) {
		return func(c *Config) { c.Storage.Backend = BackendRedis; mut(&c.Storage.Redis) }
	}
	runValidate(t, []vcase{
		{"ok/memory", func(c *Config) {}, ""},
		{"ok/redis-url", redis(func(r *Redis) { r.URL = "redis://127.0.0.1:6379/0" }), ""},
		{"ok/rediss-url-with-user", redis(func(r *Redis) { r.URL = "rediss://actas:pw@redis.example.com:6380/1" }), ""},
		{"ok/redis-cluster-addrs", redis(func(r *Redis) { r.Addrs = []string{"10.0.0.1:7000", "10.0.0.2:7000"} }), ""},
		{"ok/redis-sentinel", redis(func(r *Redis) { r.Addrs = []string{"10.0.0.1:26379"}; r.MasterName = "actas" }), ""},
		{"fail/backend-unknown", func(c *Config) { c.Storage.Backend = "sql" }, "storage.backend"},
		{"fail/timeout-zero", func(c *Config) { c.Storage.Timeout = 0 }, "storage.timeout"},
		{"fail/redis-without-url-or-addrs", redis(func(r *Redis) {}), "storage.redis.url"},
		{"fail/redis-url-http", redis(func(r *Redis) { r.URL = "http://127.0.0.1:6379" }), "storage.redis.url"},
		{"fail/redis-url-no-host", redis(func(r *Redis) { r.URL = "redis://" }), "storage.redis.url"},
		{"fail/redis-url-bad-even-for-memory", func(c *Config) { c.Storage.Redis.URL = "localhost:6379" }, "storage.redis.url"},
		{"fail/redis-url-and-addrs", redis(func(r *Redis) { r.URL = "redis://a:1"; r.Addrs = []string{"b:1"} }), "storage.redis.addrs"},
		{"fail/redis-addr-bad", redis(func(r *Redis) { r.Addrs = []string{"10.0.0.1"} }), "storage.redis.addrs[0]"},
		{"fail/master-name-without-addrs", redis(func(r *Redis) { r.URL = "redis://a:1"; r.MasterName = "m" }), "storage.redis.master_name"},
		{"fail/db-negative", func(c *Config) { c.Storage.Redis.DB = -1 }, "storage.redis.db"},
		{"fail/pool-size-negative", func(c *Config) { c.Storage.Redis.PoolSize = -1 }, "storage.redis.pool_size"},
		{"fail/key-prefix-hash-tag", func(c *Config) { c.Storage.Redis.KeyPrefix = "{actas}:" }, "storage.redis.key_prefix"},
	})
}

func TestValidateSecrets(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 32)
	runValidate(t, []vcase{
		{"ok/global-32-bytes", func(c *Config) { c.Secrets.Global = long }, ""},
		{"ok/previous", func(c *Config) { c.Secrets.Previous = []string{long, long + "x"} }, ""},
		{"ok/no-global-in-dev", func(c *Config) { c.Dev = true; c.Secrets.Global = "" }, ""},
		{"fail/global-missing", func(c *Config) { c.Secrets.Global = "" }, "secrets.global"},
		{"fail/global-31-bytes", func(c *Config) { c.Secrets.Global = long[:31] }, "secrets.global"},
		{"fail/global-short-in-dev", func(c *Config) { c.Dev = true; c.Secrets.Global = "short" }, "secrets.global"},
		{"fail/previous-short", func(c *Config) { c.Secrets.Previous = []string{long, "short"} }, "secrets.previous[1]"},
		{"fail/global-file-not-read", func(c *Config) { c.Secrets.Global = ""; c.Secrets.GlobalFile = "/run/secret" }, "secrets.global_file"},
		{"fail/redis-password-file-not-read", func(c *Config) { c.Storage.Redis.PasswordFile = "/run/pw" }, "storage.redis.password_file"},
	})
}

func TestValidateTokensAndLogin(t *testing.T) {
	t.Parallel()
	runValidate(t, []vcase{
		{"ok/eddsa-access-tokens", func(c *Config) {
			c.Tokens.AccessTokenAlg = AlgEdDSA
			c.Keys = append(c.Keys, Key{Kid: "ed-1", Alg: AlgEdDSA, State: KeyStateActive, File: c.Keys[0].File})
		}, ""},
		{"fail/access-token-lifespan-zero", func(c *Config) { c.Tokens.AccessTokenLifespan = 0 }, "tokens.access_token_lifespan"},
		{"fail/refresh-token-lifespan-negative", func(c *Config) { c.Tokens.RefreshTokenLifespan = -1 }, "tokens.refresh_token_lifespan"},
		{"fail/id-token-lifespan-zero", func(c *Config) { c.Tokens.IDTokenLifespan = 0 }, "tokens.id_token_lifespan"},
		{"fail/authorize-code-lifespan-zero", func(c *Config) { c.Tokens.AuthorizeCodeLifespan = 0 }, "tokens.authorize_code_lifespan"},
		{"fail/access-token-alg-hs256", func(c *Config) { c.Tokens.AccessTokenAlg = "HS256" }, "tokens.access_token_alg"},
		{"fail/id-token-alg-none", func(c *Config) { c.Tokens.IDTokenAlg = "none" }, "tokens.id_token_alg"},
		{"fail/session-idle-zero", func(c *Config) { c.Login.SessionIdleTimeout = 0 }, "login.session_idle_timeout"},
		{"fail/session-absolute-zero", func(c *Config) { c.Login.SessionAbsoluteTimeout = 0 }, "login.session_absolute_timeout"},
		{"fail/idle-longer-than-absolute", func(c *Config) { c.Login.SessionIdleTimeout = 13 * time.Hour }, "login.session_idle_timeout"},
		{"fail/attempts-per-user-zero", func(c *Config) { c.Login.MaxAttemptsPerUser = 0 }, "login.max_attempts_per_user"},
		{"fail/attempts-per-ip-negative", func(c *Config) { c.Login.MaxAttemptsPerIP = -1 }, "login.max_attempts_per_ip"},
		{"fail/attempt-window-zero", func(c *Config) { c.Login.AttemptWindow = 0 }, "login.attempt_window"},
		{"ok/consent-me-scopes", func(c *Config) { c.Consent.MeScopes = []string{"actas:consent"} }, ""},
		{"fail/consent-me-scope", func(c *Config) { c.Consent.MeScopes = []string{"actas:consent", "two words"} }, "consent.me_scopes[1]"},
	})
}
