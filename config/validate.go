package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Validate checks every rule of the configuration and returns all problems at once, joined with
// errors.Join: one per line, each starting with its key ("clients[1].redirect_uris[0]: …"). Each
// problem is a *[FieldError] matching [ErrInvalid]; use [FieldErrors] to list them.
//
// Validate reads the signing key files to check that they are readable (parsing them is the key
// set's job). It does not read *_file secrets: that is [Load]'s job, and a *_file whose secret was
// not read is reported. Outside dev mode ([Config.Dev]) it requires the global secret and an
// active signing key for every algorithm in use.
func (c *Config) Validate() error {
	return errors.Join(c.validate(nil)...)
}

// problems collects validation errors.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, invalidf(key, format, args...))
}

// validate runs every rule; failed names the secret keys whose *_file could not be read, which
// are not reported again.
func (c *Config) validate(failed map[string]bool) []error {
	var p problems
	c.validateIssuer(&p)
	c.validateServer(&p)
	c.validateStorage(&p)
	c.validateSecrets(&p, failed)
	c.validateKeys(&p)
	c.validateTokens(&p)
	c.validateLogin(&p)
	c.validateClients(&p, failed)
	c.validateUsers(&p)
	c.validateAudit(&p)
	c.validateExchange(&p)
	c.validateSessions(&p)
	return p
}

func (c *Config) validateAudit(p *problems) {
	a := c.Audit
	if a.Stream == "" || strings.IndexFunc(a.Stream, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == ':')
	}) >= 0 || len(a.Stream) > 64 {
		p.add("audit.stream", "must be 1 to 64 of letters, digits, '-', '_' and ':'")
	}
	if a.MaxLen < 0 {
		p.add("audit.max_len", "must not be negative (0: no limit by count)")
	}
	if a.MaxAge < 0 {
		p.add("audit.max_age", "must not be negative (0: no limit by age)")
	}
}

// validateIssuer applies RFC 8414 §2 and OIDC Discovery §3: an https URL with a host, no query
// and no fragment. Plain http is accepted for loopback hosts and in dev mode. A trailing slash is
// refused because the discovery path is appended to the issuer.
func (c *Config) validateIssuer(p *problems) {
	const key = "issuer"
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		p.add(key, "required")
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		p.add(key, "must be an absolute http(s) URL such as https://id.example.com")
	case u.User != nil:
		p.add(key, "must not contain user information")
	case u.RawQuery != "" || u.ForceQuery:
		p.add(key, "must not contain a query (RFC 8414 §2)")
	case u.Fragment != "" || strings.Contains(c.Issuer, "#"):
		p.add(key, "must not contain a fragment (RFC 8414 §2)")
	case strings.HasSuffix(u.Path, "/"):
		p.add(key, "must not end with a slash")
	case u.Port() == "" && strings.HasSuffix(u.Host, ":"):
		p.add(key, "has an empty port")
	case u.Scheme == "http" && !c.Dev && !isLoopback(u.Hostname()):
		p.add(key, "must be https (plain http only for a loopback host or in dev mode)")
	}
}

func (c *Config) validateServer(p *problems) {
	checkAddr(p, "server.public.addr", c.Server.Public.Addr)
	checkAddr(p, "server.ops.addr", c.Server.Ops.Addr)
	if a := c.Server.Public.Addr; a != "" && a == c.Server.Ops.Addr && !strings.HasSuffix(a, ":0") {
		p.add("server.ops.addr", "must differ from server.public.addr")
	}
	positive(p, "server.public.read_header_timeout", c.Server.Public.ReadHeaderTimeout)
	positive(p, "server.public.read_timeout", c.Server.Public.ReadTimeout)
	positive(p, "server.public.write_timeout", c.Server.Public.WriteTimeout)
	positive(p, "server.public.idle_timeout", c.Server.Public.IdleTimeout)
	if c.Server.Public.MaxBodyBytes <= 0 {
		p.add("server.public.max_body_bytes", "must be positive")
	}
	positive(p, "server.shutdown_timeout", c.Server.ShutdownTimeout)
	for i, s := range c.Server.TrustedProxies {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			p.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "must be a CIDR such as 10.0.0.0/8 or an IP address")
		}
	}
	if !slices.Contains([]string{LogFormatJSON, LogFormatText}, c.Log.Format) {
		p.add("log.format", "must be json or text")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		p.add("log.level", "must be debug, info, warn or error")
	}
}

func (c *Config) validateStorage(p *problems) {
	s := c.Storage
	switch s.Backend {
	case BackendMemory, BackendRedis:
	default:
		p.add("storage.backend", "must be memory or redis")
	}
	positive(p, "storage.timeout", s.Timeout)
	r := s.Redis
	if r.URL != "" {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			p.add("storage.redis.url", "must be a redis:// or rediss:// URL")
		}
	}
	for i, a := range r.Addrs {
		checkAddr(p, fmt.Sprintf("storage.redis.addrs[%d]", i), a)
	}
	if s.Backend == BackendRedis {
		switch {
		case r.URL == "" && len(r.Addrs) == 0:
			p.add("storage.redis.url", "required when storage.backend is redis (or give storage.redis.addrs)")
		case r.URL != "" && len(r.Addrs) > 0:
			p.add("storage.redis.addrs", "give either storage.redis.url or storage.redis.addrs, not both")
		}
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		p.add("storage.redis.master_name", "needs storage.redis.addrs (the Sentinel addresses)")
	}
	if r.DB < 0 {
		p.add("storage.redis.db", "must not be negative")
	}
	if r.PoolSize < 0 {
		p.add("storage.redis.pool_size", "must not be negative (0 means the go-redis default)")
	}
	if strings.ContainsAny(r.KeyPrefix, "{}") {
		p.add("storage.redis.key_prefix", "must not contain { or } (they would break the Cluster hash tags)")
	}
}

// minSecretBytes is the least length of fosite's global secret and of client secrets.
const minSecretBytes = 32

func (c *Config) validateSecrets(p *problems, failed map[string]bool) {
	s := c.Secrets
	switch {
	case failed["secrets.global"]:
	case s.Global == "" && s.GlobalFile != "":
		p.add("secrets.global_file", "was not read (config.Load reads *_file secrets)")
	case s.Global == "" && !c.Dev:
		p.add("secrets.global", "required (at least %d bytes; or give secrets.global_file)", minSecretBytes)
	case s.Global != "" && len(s.Global) < minSecretBytes:
		p.add("secrets.global", "must be at least %d bytes, is %d", minSecretBytes, len(s.Global))
	}
	for i, prev := range s.Previous {
		if len(prev) < minSecretBytes {
			p.add(fmt.Sprintf("secrets.previous[%d]", i), "must be at least %d bytes, is %d", minSecretBytes, len(prev))
		}
	}
	r := c.Storage.Redis
	if !failed["storage.redis.password"] && r.Password == "" && r.PasswordFile != "" {
		p.add("storage.redis.password_file", "was not read (config.Load reads *_file secrets)")
	}
}

var (
	signingAlgs = []string{AlgRS256, AlgES256, AlgEdDSA}
	keyStates   = []string{KeyStateNext, KeyStateActive, KeyStateRetired, KeyStateRemoved}
)

func (c *Config) validateKeys(p *problems) {
	kids := map[string]int{}
	active := map[string]int{} // alg -> index of its active key
	for i, k := range c.Keys {
		at := func(field string) string { return fmt.Sprintf("keys[%d].%s", i, field) }
		switch prev, dup := kids[k.Kid]; {
		case k.Kid == "":
			p.add(at("kid"), "required")
		case dup:
			p.add(at("kid"), "%q used twice (also keys[%d])", k.Kid, prev)
		default:
			kids[k.Kid] = i
		}
		if !slices.Contains(signingAlgs, k.Alg) {
			p.add(at("alg"), "must be RS256, ES256 or EdDSA")
		}
		if !slices.Contains(keyStates, k.State) {
			p.add(at("state"), "must be next, active, retired or removed")
		}
		if k.State == KeyStateActive && slices.Contains(signingAlgs, k.Alg) {
			if prev, dup := active[k.Alg]; dup {
				p.add(at("state"), "a second active %s key (keys[%d] is active); at most one active key per algorithm", k.Alg, prev)
			} else {
				active[k.Alg] = i
			}
		}
		switch {
		case k.State == KeyStateRemoved:
		case k.File == "":
			p.add(at("file"), "required (a PEM or JWK private key file)")
		default:
			if err := checkReadable(k.File); err != nil {
				p.add(at("file"), "%v", err)
			}
		}
	}
	if c.Dev {
		return // the server generates the keys it lacks
	}
	if len(active) == 0 {
		p.add("keys", "at least one active signing key is required (generate one with `actas keys generate`)")
		return
	}
	need := func(key, alg string) {
		if _, ok := active[alg]; !ok && slices.Contains(signingAlgs, alg) {
			p.add(key, "no active %s key in keys", alg)
		}
	}
	need("tokens.access_token_alg", c.Tokens.AccessTokenAlg)
	need("tokens.id_token_alg", c.Tokens.IDTokenAlg)
	for i, cl := range c.Clients {
		if cl.IDTokenSigningAlg != "" {
			need(fmt.Sprintf("clients[%d].id_token_signing_alg", i), cl.IDTokenSigningAlg)
		}
	}
}

func (c *Config) validateTokens(p *problems) {
	t := c.Tokens
	positive(p, "tokens.access_token_lifespan", t.AccessTokenLifespan)
	positive(p, "tokens.refresh_token_lifespan", t.RefreshTokenLifespan)
	positive(p, "tokens.id_token_lifespan", t.IDTokenLifespan)
	positive(p, "tokens.authorize_code_lifespan", t.AuthorizeCodeLifespan)
	if !slices.Contains(signingAlgs, t.AccessTokenAlg) {
		p.add("tokens.access_token_alg", "must be RS256, ES256 or EdDSA")
	}
	if !slices.Contains(signingAlgs, t.IDTokenAlg) {
		p.add("tokens.id_token_alg", "must be RS256, ES256 or EdDSA")
	}
}

func (c *Config) validateLogin(p *problems) {
	l := c.Login
	positive(p, "login.session_idle_timeout", l.SessionIdleTimeout)
	positive(p, "login.session_absolute_timeout", l.SessionAbsoluteTimeout)
	if l.SessionIdleTimeout > 0 && l.SessionAbsoluteTimeout > 0 && l.SessionIdleTimeout > l.SessionAbsoluteTimeout {
		p.add("login.session_idle_timeout", "must not exceed login.session_absolute_timeout")
	}
	if l.MaxAttemptsPerUser <= 0 {
		p.add("login.max_attempts_per_user", "must be positive")
	}
	if l.MaxAttemptsPerIP <= 0 {
		p.add("login.max_attempts_per_ip", "must be positive")
	}
	positive(p, "login.attempt_window", l.AttemptWindow)
}

func positive(p *problems, key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be a positive duration such as \"10m\"")
	}
}

// checkAddr requires host:port with a numeric port (0 picks a free port); the host may be empty
// (all interfaces).
func checkAddr(p *problems, key, addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(key, "must be host:port, such as 127.0.0.1:8080")
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add(key, "port must be a number from 0 to 65535")
	}
}

// isLoopback reports whether host (without brackets or port) is localhost or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
