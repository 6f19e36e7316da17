package config

import "time"

// Config is the whole configuration of one actas process. The mapstructure and yaml tags are the
// file schema; docs/configuration.md documents every key.
//
// Build it with [Load]; [Default] and [Dev] return the defaults without reading anything.
type Config struct {
	// Issuer is the OAuth 2.0 / OIDC issuer identifier (RFC 8414 §2, OIDC Discovery §3). Default:
	// "http://" + Server.Public.Addr. It must be https unless its host is a loopback address or
	// the process runs in dev mode.
	Issuer  string   `mapstructure:"issuer" yaml:"issuer"`
	Server  Server   `mapstructure:"server" yaml:"server"`
	Log     Log      `mapstructure:"log" yaml:"log"`
	Storage Storage  `mapstructure:"storage" yaml:"storage"`
	Secrets Secrets  `mapstructure:"secrets" yaml:"secrets"`
	Keys    []Key    `mapstructure:"keys" yaml:"keys"`
	Tokens  Tokens   `mapstructure:"tokens" yaml:"tokens"`
	Login   Login    `mapstructure:"login" yaml:"login"`
	Clients []Client `mapstructure:"clients" yaml:"clients"`
	Users   []User   `mapstructure:"users" yaml:"users"`

	// Policy holds the impersonation rules (docs/policy.md).
	Policy Policy `mapstructure:"policy" yaml:"policy"`
	// Exchange configures the token-exchange grant (docs/exchange.md).
	Exchange Exchange `mapstructure:"exchange" yaml:"exchange"`
	// Representations configures representation sessions (docs/representations.md).
	Representations Representations `mapstructure:"representations" yaml:"representations"`
	// Consent configures the consent workflow (docs/consent.md).
	Consent Consent `mapstructure:"consent" yaml:"consent"`
	// Handoff configures mobile hand-off codes (docs/mobile.md).
	Handoff Handoff `mapstructure:"handoff" yaml:"handoff"`
	// Audit configures the durable audit trail (docs/audit.md).
	Audit Audit `mapstructure:"audit" yaml:"audit"`

	// Dev is true when the process runs with --dev: the global secret and the signing keys may be
	// absent (the server generates them at start) and the issuer may be plain http. It is set by
	// [Load] and [Dev], never read from a file.
	Dev bool `mapstructure:"-" yaml:"-"`
}

// Server holds the two HTTP listeners.
type Server struct {
	Public Public `mapstructure:"public" yaml:"public"`
	Ops    Ops    `mapstructure:"ops" yaml:"ops"`
	// ShutdownTimeout bounds the drain of in-flight requests after SIGINT/SIGTERM.
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	// TrustedProxies are the CIDRs (or single addresses) whose X-Forwarded-For header is believed.
	TrustedProxies []string `mapstructure:"trusted_proxies" yaml:"trusted_proxies"`
}

// Public is the listener for the OAuth/OIDC endpoints, login pages and the API.
type Public struct {
	Addr              string        `mapstructure:"addr" yaml:"addr"`
	ReadHeaderTimeout time.Duration `mapstructure:"read_header_timeout" yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `mapstructure:"read_timeout" yaml:"read_timeout"`
	WriteTimeout      time.Duration `mapstructure:"write_timeout" yaml:"write_timeout"`
	IdleTimeout       time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	// MaxBodyBytes caps every request body.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes" yaml:"max_body_bytes"`
}

// Ops is the listener for /healthz, /readyz and /metrics.
type Ops struct {
	Addr string `mapstructure:"addr" yaml:"addr"`
}

// Log selects the slog handler.
type Log struct {
	Format string `mapstructure:"format" yaml:"format"` // json or text
	Level  string `mapstructure:"level" yaml:"level"`   // debug, info, warn or error
}

// Storage selects and configures the storage backend.
type Storage struct {
	Backend string `mapstructure:"backend" yaml:"backend"` // memory or redis
	// Timeout is the deadline of each storage call.
	Timeout time.Duration `mapstructure:"timeout" yaml:"timeout"`
	Redis   Redis         `mapstructure:"redis" yaml:"redis"`
}

// Redis configures the go-redis UniversalClient. Give either URL (standalone) or Addrs (Cluster, or
// Sentinel when MasterName is set).
type Redis struct {
	URL          string   `mapstructure:"url" yaml:"url"`
	Addrs        []string `mapstructure:"addrs" yaml:"addrs"`
	MasterName   string   `mapstructure:"master_name" yaml:"master_name"`
	Username     string   `mapstructure:"username" yaml:"username"`
	Password     string   `mapstructure:"password" yaml:"password"`
	PasswordFile string   `mapstructure:"password_file" yaml:"password_file"`
	DB           int      `mapstructure:"db" yaml:"db"`
	// KeyPrefix is put in front of every key; it must not contain a hash tag brace.
	KeyPrefix string `mapstructure:"key_prefix" yaml:"key_prefix"`
	PoolSize  int    `mapstructure:"pool_size" yaml:"pool_size"` // 0: go-redis default
	// AutoPipeline sends the commands of concurrent requests together (go-redis's automatic
	// pipelining): fewer system calls on both sides under load. Default true.
	AutoPipeline bool `mapstructure:"auto_pipeline" yaml:"auto_pipeline"`
}

// Secrets holds fosite's HMAC secrets for authorization codes and refresh tokens. After [Load],
// Global and Previous hold the secret values, whether they were given inline or in files.
type Secrets struct {
	// Global signs new codes and refresh tokens; at least 32 bytes.
	Global     string `mapstructure:"global" yaml:"global"`
	GlobalFile string `mapstructure:"global_file" yaml:"global_file"`
	// Previous are earlier global secrets, still accepted for verification (rotation). After
	// [Load] it also holds the contents of PreviousFiles, in that order.
	Previous      []string `mapstructure:"previous" yaml:"previous"`
	PreviousFiles []string `mapstructure:"previous_files" yaml:"previous_files"`
}

// Key is one signing key. Parsing the key file (PEM or JWK) is the key set's job; config only
// checks that it is readable and, after [Load], holds its absolute path in File.
type Key struct {
	Kid   string `mapstructure:"kid" yaml:"kid"`
	Alg   string `mapstructure:"alg" yaml:"alg"`     // RS256, ES256 or EdDSA
	State string `mapstructure:"state" yaml:"state"` // next, active, retired or removed
	File  string `mapstructure:"file" yaml:"file"`
}

// Tokens holds the global token lifetimes and algorithms; clients may override the lifetimes.
type Tokens struct {
	AccessTokenLifespan   time.Duration `mapstructure:"access_token_lifespan" yaml:"access_token_lifespan"`
	RefreshTokenLifespan  time.Duration `mapstructure:"refresh_token_lifespan" yaml:"refresh_token_lifespan"`
	IDTokenLifespan       time.Duration `mapstructure:"id_token_lifespan" yaml:"id_token_lifespan"`
	AuthorizeCodeLifespan time.Duration `mapstructure:"authorize_code_lifespan" yaml:"authorize_code_lifespan"`
	AccessTokenAlg        string        `mapstructure:"access_token_alg" yaml:"access_token_alg"`
	IDTokenAlg            string        `mapstructure:"id_token_alg" yaml:"id_token_alg"`
	// EnforcePKCE requires PKCE (RFC 7636) from confidential clients too; public clients always
	// need it.
	EnforcePKCE bool `mapstructure:"enforce_pkce" yaml:"enforce_pkce"`
}

// Login configures the login pages and the server-side login session.
type Login struct {
	SessionIdleTimeout     time.Duration `mapstructure:"session_idle_timeout" yaml:"session_idle_timeout"`
	SessionAbsoluteTimeout time.Duration `mapstructure:"session_absolute_timeout" yaml:"session_absolute_timeout"`
	// MaxAttemptsPerUser and MaxAttemptsPerIP limit failed logins per AttemptWindow.
	MaxAttemptsPerUser int           `mapstructure:"max_attempts_per_user" yaml:"max_attempts_per_user"`
	MaxAttemptsPerIP   int           `mapstructure:"max_attempts_per_ip" yaml:"max_attempts_per_ip"`
	AttemptWindow      time.Duration `mapstructure:"attempt_window" yaml:"attempt_window"`
	// CookieSecure sets the Secure attribute on the login session cookie; false only in dev.
	CookieSecure bool `mapstructure:"cookie_secure" yaml:"cookie_secure"`
}

// Client is one registered OAuth 2.0 client.
type Client struct {
	ID   string `mapstructure:"id" yaml:"id"`
	Name string `mapstructure:"name" yaml:"name"`
	// Secret of a confidential client (at least 32 bytes; generate 256 random bits). After [Load]
	// it holds the content of SecretFile when that was given.
	Secret     string `mapstructure:"secret" yaml:"secret"`
	SecretFile string `mapstructure:"secret_file" yaml:"secret_file"`
	// Public clients authenticate with "none" and must use PKCE; they have no secret.
	Public                 bool     `mapstructure:"public" yaml:"public"`
	RedirectURIs           []string `mapstructure:"redirect_uris" yaml:"redirect_uris"`
	PostLogoutRedirectURIs []string `mapstructure:"post_logout_redirect_uris" yaml:"post_logout_redirect_uris"`
	BackchannelLogoutURI   string   `mapstructure:"backchannel_logout_uri" yaml:"backchannel_logout_uri"`
	// GrantTypes default to authorization_code and refresh_token when the key is omitted.
	GrantTypes []string `mapstructure:"grant_types" yaml:"grant_types"`
	// Scopes default to openid, profile, email and offline_access when the key is omitted.
	Scopes   []string `mapstructure:"scopes" yaml:"scopes"`
	Audience []string `mapstructure:"audience" yaml:"audience"`
	// FirstParty clients skip the consent page.
	FirstParty bool `mapstructure:"first_party" yaml:"first_party"`
	// IDTokenSigningAlg overrides tokens.id_token_alg for this client when not empty.
	IDTokenSigningAlg string    `mapstructure:"id_token_signing_alg" yaml:"id_token_signing_alg"`
	Lifespans         Lifespans `mapstructure:"lifespans" yaml:"lifespans"`
	// ExchangeFor lists the client ids whose tokens this client may exchange (RFC 8693).
	ExchangeFor []string `mapstructure:"exchange_for" yaml:"exchange_for"`
	// HandoffURIs are the mobile hand-off link templates.
	HandoffURIs []string `mapstructure:"handoff_uris" yaml:"handoff_uris"`
}

// Lifespans are per-client token lifetimes; zero means the global value in [Tokens].
type Lifespans struct {
	AccessToken  time.Duration `mapstructure:"access_token" yaml:"access_token"`
	RefreshToken time.Duration `mapstructure:"refresh_token" yaml:"refresh_token"`
	IDToken      time.Duration `mapstructure:"id_token" yaml:"id_token"`
}

// User is one user account seeded into storage.
type User struct {
	ID            string   `mapstructure:"id" yaml:"id"`
	Username      string   `mapstructure:"username" yaml:"username"`
	Email         string   `mapstructure:"email" yaml:"email"`
	EmailVerified bool     `mapstructure:"email_verified" yaml:"email_verified"`
	Name          string   `mapstructure:"name" yaml:"name"`
	Roles         []string `mapstructure:"roles" yaml:"roles"`
	Tenant        string   `mapstructure:"tenant" yaml:"tenant"`
	// ImpersonationAllowed is the user's opt-out switch; true when the key is omitted.
	ImpersonationAllowed bool `mapstructure:"impersonation_allowed" yaml:"impersonation_allowed"`
	// PasswordHash is an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
	PasswordHash string `mapstructure:"password_hash" yaml:"password_hash"`
	// TOTPSecret is the RFC 6238 shared secret in upper-case base32 (RFC 4648), at least 16 bytes
	// decoded; empty when the user has no second factor enrolled.
	TOTPSecret string `mapstructure:"totp_secret" yaml:"totp_secret"`
	Disabled   bool   `mapstructure:"disabled" yaml:"disabled"`
}

// Audit configures the audit trail's durable stream (a Redis Stream, or a bounded ring in memory).
type Audit struct {
	// Stream names the stream (letters, digits, '-', '_', ':').
	Stream string `mapstructure:"stream" yaml:"stream"`
	// MaxLen keeps at most this many events (0: no limit by count); the oldest are trimmed, and
	// `actas audit verify` tells trimmed-by-retention from deleted.
	MaxLen int64 `mapstructure:"max_len" yaml:"max_len"`
	// MaxAge trims events older than this (0: no limit by age).
	MaxAge time.Duration `mapstructure:"max_age" yaml:"max_age"`
}

// Values of the enumerated keys.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"

	LogFormatJSON = "json"
	LogFormatText = "text"

	AlgRS256 = "RS256"
	AlgES256 = "ES256"
	AlgEdDSA = "EdDSA"

	KeyStateNext    = "next"
	KeyStateActive  = "active"
	KeyStateRetired = "retired"
	KeyStateRemoved = "removed"

	GrantTypeAuthorizationCode = "authorization_code"
	GrantTypeRefreshToken      = "refresh_token"
	GrantTypeClientCredentials = "client_credentials"
	// GrantTypeTokenExchange is RFC 8693 §2.1's grant type.
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
)
