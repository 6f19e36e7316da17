package oauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/storage"
)

// Store is what the provider needs from storage: fosite's storage interfaces plus users.
type Store interface {
	fosite.ClientManager
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	pkce.PKCERequestStorage
	openid.OpenIDConnectRequestStorage
	GetUser(ctx context.Context, id string) (*storage.User, error)
}

// Login is what the provider needs from the login pages (oauth/login).
type Login interface {
	// Current returns the browser's login session, or an error (login.ErrNoSession when none).
	Current(r *http.Request) (*storage.LoginSession, error)
	// LoginURL is where to send the browser to log in, returning to returnTo afterwards.
	LoginURL(returnTo, prompt, loginHint string) string
	// HasConsent reports whether subject already approved scopes for clientID.
	HasConsent(ctx context.Context, subject, clientID string, scopes []string) (bool, error)
	// ConsentURL is where to send the browser to approve scopes.
	ConsentURL(ctx context.Context, subject, returnTo, clientID, clientName string, scopes []string) (string, error)
	// EndLoginSession ends the browser's login session (and fires the "login session ended" hooks).
	EndLoginSession(ctx context.Context, w http.ResponseWriter, r *http.Request) error
	// RecordClient records that clientID receives an authorization response under the login
	// session (its back-channel logout is then sent when the session ends); an error wrapping
	// login.ErrNoSession when the session has ended meanwhile.
	RecordClient(ctx context.Context, ls *storage.LoginSession, clientID string) error
}

// Lifespans are the global default token lifetimes; clients may override them.
type Lifespans struct {
	AccessToken   time.Duration
	RefreshToken  time.Duration
	IDToken       time.Duration
	AuthorizeCode time.Duration
}

// Options configure the provider. Every field is required unless marked optional.
type Options struct {
	Issuer         string
	Store          Store
	Keys           *keys.Holder
	AccessTokenAlg string // ES256 by default
	IDTokenAlg     string // RS256 by default
	// GlobalSecret (≥ 32 bytes) makes authorization codes and refresh tokens; PreviousSecrets are
	// still accepted, so the secret can be rotated.
	GlobalSecret    []byte
	PreviousSecrets [][]byte
	Lifespans       Lifespans
	// EnforcePKCE requires PKCE for confidential clients too (public clients always need it).
	EnforcePKCE bool
	Login       Login
	Logger      *slog.Logger
	// Grants build extra grants (token exchange), registered after the built-in ones.
	Grants []GrantFactory
	// RefreshGuard, when set, is asked about every token whose session has a representation (SID)
	// before it is refreshed, introspected or used at userinfo; an error refuses the refresh
	// (invalid_grant) and makes introspection answer inactive and userinfo 401. A storage outage
	// (storage.ErrUnavailable) answers 503 instead.
	RefreshGuard func(ctx context.Context, s *Session) error
	// ExtraGrantTypes are advertised in discovery for the extra handlers.
	ExtraGrantTypes []string
	// OnTokenRevoked, when set, is told of every successful revocation (RFC 7009) with the
	// revoking client and the token type hint (for the audit trail); it must not block.
	OnTokenRevoked func(ctx context.Context, clientID, hint string)
	// OnStorageError is called with an operation name when storage fails (metrics); optional.
	OnStorageError func(op string)
}

// GrantDeps is what an extra grant gets to issue and verify tokens exactly as the built-in grants do.
type GrantDeps struct {
	Config   *fosite.Config
	Strategy *compose.CommonStrategy
	Storage  Store
	// Provider verifies tokens (IntrospectToken) at request time.
	Provider   fosite.OAuth2Provider
	NewSession func(subject string) *Session
}

// GrantFactory builds one extra token-endpoint grant.
type GrantFactory func(GrantDeps) (fosite.TokenEndpointHandler, error)

// Provider is the composed OAuth 2.0 / OIDC provider.
type Provider struct {
	opts   Options
	config *fosite.Config
	oauth2 fosite.OAuth2Provider
	hasher *SecretHasher
	log    *slog.Logger

	// grantTypes accepted at the token endpoint, for unsupported_grant_type.
	grantTypes map[string]bool
	atSigner   jwt.Signer
	idSigner   jwt.Signer
}

// New composes fosite with actas's storage, keys and handlers.
func New(o Options) (*Provider, error) {
	if o.Issuer == "" || o.Store == nil || o.Keys == nil || o.Login == nil {
		return nil, errors.New("oauth: issuer, store, keys and login are required")
	}
	if len(o.GlobalSecret) < 32 {
		return nil, errors.New("oauth: the global secret must be at least 32 bytes")
	}
	if o.AccessTokenAlg == "" {
		o.AccessTokenAlg = "ES256"
	}
	if o.IDTokenAlg == "" {
		o.IDTokenAlg = "RS256"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.OnStorageError == nil {
		o.OnStorageError = func(string) {}
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	set := o.Keys.Load()
	for _, alg := range []string{o.AccessTokenAlg, o.IDTokenAlg} {
		if _, err := set.Active(alg); err != nil {
			return nil, fmt.Errorf("oauth: no active %s signing key: %w", alg, err)
		}
	}

	hasher := NewSecretHasher(o.GlobalSecret, o.PreviousSecrets...)
	cfg := &fosite.Config{
		AccessTokenLifespan:   o.Lifespans.AccessToken,
		RefreshTokenLifespan:  o.Lifespans.RefreshToken,
		IDTokenLifespan:       o.Lifespans.IDToken,
		AuthorizeCodeLifespan: o.Lifespans.AuthorizeCode,
		IDTokenIssuer:         o.Issuer,
		AccessTokenIssuer:     o.Issuer,
		TokenURL:              o.Issuer + "/oauth2/token",
		GlobalSecret:          o.GlobalSecret,
		RotatedGlobalSecrets:  o.PreviousSecrets,
		// Every lazily-defaulted field is set here: fosite's getters write defaults on first use,
		// which races under concurrent requests.
		ScopeStrategy:                  fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:       fosite.ExactAudienceMatchingStrategy,
		JWKSFetcherStrategy:            fosite.NewDefaultJWKSFetcherStrategy(),
		ClientSecretsHasher:            hasher,
		EnforcePKCE:                    o.EnforcePKCE,
		EnforcePKCEForPublicClients:    true,
		EnablePKCEPlainChallengeMethod: false,
		JWTScopeClaimKey:               jwt.JWTScopeFieldString,
		RefreshTokenScopes:             []string{"offline_access"},
		MinParameterEntropy:            fosite.MinParameterEntropy,
		AllowedPromptValues:            []string{"login", "none", "consent"},
		SendDebugMessagesToClients:     false,
		HMACHasher:                     sha256.New,
		TokenEntropy:                   32,
		RedirectSecureChecker:          fosite.IsRedirectURISecureStrict,
	}
	if cfg.AccessTokenLifespan == 0 {
		cfg.AccessTokenLifespan = 10 * time.Minute
	}
	if cfg.AuthorizeCodeLifespan == 0 {
		cfg.AuthorizeCodeLifespan = 5 * time.Minute
	}
	if cfg.IDTokenLifespan == 0 {
		cfg.IDTokenLifespan = time.Hour
	}
	if cfg.RefreshTokenLifespan == 0 {
		cfg.RefreshTokenLifespan = 30 * 24 * time.Hour
	}

	atSigner := o.Keys.Signer(o.AccessTokenAlg)
	idSigner := o.Keys.Signer(o.IDTokenAlg)
	hmacStrategy := compose.NewOAuth2HMACStrategy(cfg)
	strategy := &compose.CommonStrategy{
		CoreStrategy:               &oauth2.DefaultJWTStrategy{Signer: atSigner, HMACSHAStrategy: hmacStrategy, Config: cfg},
		OpenIDConnectTokenStrategy: &openid.DefaultStrategy{Signer: idSigner, Config: cfg},
		Signer:                     idSigner,
	}
	provider := compose.Compose(cfg, markingStore{o.Store}, strategy,
		compose.OAuth2AuthorizeExplicitFactory,
		compose.OAuth2PKCEFactory,
		compose.OAuth2RefreshTokenGrantFactory,
		compose.OAuth2ClientCredentialsGrantFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	if f, ok := provider.(*fosite.Fosite); ok {
		f.Config = grantConfig{cfg}
	}
	cfg.TokenEndpointHandlers.Append(&refreshBounds{guard: o.RefreshGuard, users: o.Store, idLifespan: cfg.IDTokenLifespan})
	deps := GrantDeps{Config: cfg, Strategy: strategy, Storage: o.Store, Provider: provider,
		NewSession: func(sub string) *Session { s := NewSession(sub); s.DefaultAudience = []string{o.Issuer}; return s }}
	for _, f := range o.Grants {
		h, err := f(deps)
		if err != nil {
			return nil, fmt.Errorf("oauth: grant: %w", err)
		}
		cfg.TokenEndpointHandlers.Append(h)
	}
	gt := map[string]bool{"authorization_code": true, "refresh_token": true, "client_credentials": true}
	for _, g := range o.ExtraGrantTypes {
		gt[g] = true
	}
	return &Provider{opts: o, config: cfg, oauth2: provider, hasher: hasher, log: o.Logger,
		grantTypes: gt, atSigner: atSigner, idSigner: idSigner}, nil
}

// Fosite exposes the composed provider (for the token-exchange handler's helpers and tests).
func (p *Provider) Fosite() fosite.OAuth2Provider { return p.oauth2 }

// Config exposes the fosite configuration (read-only after New).
func (p *Provider) Config() *fosite.Config { return p.config }

// AccessTokenSigner is the signer of access tokens (for grants added from outside).
func (p *Provider) AccessTokenSigner() jwt.Signer { return p.atSigner }

// IDTokenSigner is the signer of ID tokens.
func (p *Provider) IDTokenSigner() jwt.Signer { return p.idSigner }

// Issuer is the issuer URL without a trailing slash.
func (p *Provider) Issuer() string { return p.opts.Issuer }

// Hasher is the client-secret hasher (cmd uses it to seed clients from config).
func (p *Provider) Hasher() *SecretHasher { return p.hasher }

// Routes mounts every endpoint on mux.
func (p *Provider) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.Handle("GET /.well-known/jwks.json", keys.JWKSHandler(p.opts.Keys))
	mux.HandleFunc("GET /oauth2/auth", p.authorize)
	mux.HandleFunc("POST /oauth2/auth", p.authorize)
	mux.HandleFunc("/oauth2/token", p.token) // other methods: 405 JSON from token()
	mux.HandleFunc("GET /userinfo", p.userinfo)
	mux.HandleFunc("POST /userinfo", p.userinfo)
	mux.HandleFunc("POST /oauth2/introspect", p.introspect)
	mux.HandleFunc("POST /oauth2/revoke", p.revoke)
	mux.HandleFunc("GET /oauth2/logout", p.logout)
	mux.HandleFunc("POST /oauth2/logout", p.logout)
}
