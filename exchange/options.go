package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/actas-dev/actas/policy"
)

// Decider decides impersonations; *policy.Engine satisfies it.
type Decider interface {
	Decide(ctx context.Context, in policy.Input) policy.Decision
}

// DenyDecider denies every impersonation (impersonation_disabled). It is the default Decider.
type DenyDecider struct{}

// Decide denies.
func (DenyDecider) Decide(context.Context, policy.Input) policy.Decision {
	return policy.Decision{Rule: policy.RuleEnabled, Code: policy.CodeImpersonationDisabled,
		Reason: "no impersonation policy is configured"}
}

// Options configure the token-exchange grant. Only what is marked required must be set.
type Options struct {
	// Issuer is actas's issuer URL; default: the provider's access-token issuer.
	Issuer string
	// Decider is the impersonation policy; default [DenyDecider] (every impersonation denied).
	Decider Decider
	// Representations opens representation sessions; default [DenyRepresentations] (every
	// impersonation denied, every token of a representation refused).
	Representations Representations
	// Consents finds the target's approval when the policy requires one (issue 8); default
	// [NoConsents] (every impersonation that needs consent denied with consent_required).
	Consents Consents
	// TrustedIssuers are the foreign issuers whose JWTs are accepted as subject or actor tokens.
	TrustedIssuers []TrustedIssuer
	// MaxActDepth bounds the number of actors in an issued token's act chain; default 4, at most 32.
	MaxActDepth int
	// AccessTokenLifespan, RefreshTokenLifespan and IDTokenLifespan are the lifetimes of issued
	// tokens before the bounds (subject token, representation, policy) shorten them; a client's
	// own lifespans override them. Default: the provider's.
	AccessTokenLifespan  time.Duration
	RefreshTokenLifespan time.Duration
	IDTokenLifespan      time.Duration
	// Now is the clock for lifetimes and foreign-token validation; default time.Now. Tokens that
	// fosite itself validates (actas's own) are checked against the system clock.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Audit receives one event per request; default [NopAudit].
	Audit Audit
	// HTTPClient fetches trusted issuers' discovery documents and JWKS; default a client with a
	// 5 s timeout that does not follow redirects to other hosts.
	HTTPClient *http.Client
	// SecretText reports free text shaped like a credential (a token or key), which the audit
	// trail refuses to store (audit.LooksLikeSecret): an impersonation whose reason or ticket is
	// such text is invalid_request before anything is written. nil: not checked.
	SecretText func(string) bool
}

// TrustedIssuer is a foreign issuer whose signed JWTs are accepted as subject or actor tokens.
type TrustedIssuer struct {
	// Issuer is the exact `iss` value (required).
	Issuer string
	// JWKSURL is where the issuer's keys are; when empty they are found through OIDC discovery at
	// Issuer + "/.well-known/openid-configuration".
	JWKSURL string
	// Algorithms allowed for this issuer's tokens (required): RS256/384/512, PS256/384/512,
	// ES256/384/512 or EdDSA. "none" and every HMAC algorithm are refused.
	Algorithms []string
	// Audience must be one of the token's `aud` values (required): the name under which this
	// issuer knows actas (for ID tokens: actas's client id there).
	Audience string
	// ClockSkew tolerated on exp, nbf and iat; default 1 minute, at most 5 minutes.
	ClockSkew time.Duration
	// AccessTokenTypes are the JWT header `typ` values accepted where an access token is expected
	// (compared case-insensitively, "application/" optional); default ["at+jwt"] (RFC 9068).
	// Add "JWT" only for an issuer that does not type its access tokens.
	AccessTokenTypes []string
	// Clients, when not empty, are the only clients that may present this issuer's tokens.
	Clients []string
	// Claims maps the issuer's claims to what the policy needs.
	Claims ClaimMapping
	// CacheTTL is how long fetched keys are used before they are fetched again; default 15 minutes.
	CacheTTL time.Duration
	// RefreshInterval is the minimum time between two fetches; a token with an unknown kid causes
	// at most one refetch per interval. Default 1 minute.
	RefreshInterval time.Duration
}

// ClaimMapping names the claims of a trusted issuer's tokens. Each default applies when empty.
type ClaimMapping struct {
	Roles    string // default "roles"; a string array or a space-separated string
	Tenant   string // default "tenant"
	AMR      string // default "amr"
	ACR      string // default "acr"
	AuthTime string // default "auth_time"
}

// allowedForeignAlgs are the asymmetric JWS algorithms a trusted issuer may use (RFC 7518 §3.1,
// RFC 8037). "none" and HS* are never accepted: an HMAC "signature" keyed with a public key is
// the classic algorithm-confusion forgery.
var allowedForeignAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512", "EdDSA"}

const (
	defaultClockSkew       = time.Minute
	maxClockSkew           = 5 * time.Minute
	defaultCacheTTL        = 15 * time.Minute
	defaultRefreshInterval = time.Minute
	defaultHTTPTimeout     = 5 * time.Second
)

// withDefaults validates o and fills in defaults (except those that need the provider).
func (o Options) withDefaults() (Options, error) {
	if o.Decider == nil {
		o.Decider = DenyDecider{}
	}
	if o.Representations == nil {
		o.Representations = DenyRepresentations{}
	}
	if o.Consents == nil {
		o.Consents = NoConsents{}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Audit == nil {
		o.Audit = NopAudit{}
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: defaultHTTPTimeout, CheckRedirect: sameHostRedirects}
	}
	switch {
	case o.MaxActDepth == 0:
		o.MaxActDepth = DefaultMaxActDepth
	case o.MaxActDepth < 1 || o.MaxActDepth > maxActDepthLimit:
		return o, fmt.Errorf("exchange: max act depth %d is not in [1, %d]", o.MaxActDepth, maxActDepthLimit)
	}
	if o.AccessTokenLifespan < 0 || o.RefreshTokenLifespan < 0 || o.IDTokenLifespan < 0 {
		return o, errors.New("exchange: token lifespans must not be negative")
	}
	o.Issuer = strings.TrimSuffix(o.Issuer, "/")
	var errs []error
	seen := map[string]bool{}
	o.TrustedIssuers = slices.Clone(o.TrustedIssuers)
	for i := range o.TrustedIssuers {
		t := &o.TrustedIssuers[i]
		if err := t.validate(); err != nil {
			errs = append(errs, fmt.Errorf("exchange: trusted_issuers[%d]: %w", i, err))
			continue
		}
		if seen[t.Issuer] {
			errs = append(errs, fmt.Errorf("exchange: trusted_issuers[%d]: issuer %q is listed twice", i, t.Issuer))
		}
		seen[t.Issuer] = true
	}
	return o, errors.Join(errs...)
}

// validate checks t and fills in its defaults.
func (t *TrustedIssuer) validate() error {
	u, err := url.Parse(t.Issuer)
	if t.Issuer == "" || err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("issuer %q must be an absolute URL", t.Issuer)
	}
	if t.JWKSURL != "" {
		if ju, err := url.Parse(t.JWKSURL); err != nil || (ju.Scheme != "https" && ju.Scheme != "http") || ju.Host == "" {
			return fmt.Errorf("jwks_url %q must be an http(s) URL", t.JWKSURL)
		}
	}
	if t.Audience == "" {
		return errors.New("audience is required")
	}
	if len(t.Algorithms) == 0 {
		return errors.New("algorithms is required (e.g. [RS256])")
	}
	for _, a := range t.Algorithms {
		if !slices.Contains(allowedForeignAlgs, a) {
			return fmt.Errorf("algorithm %q is not allowed (use asymmetric algorithms: %s)", a, strings.Join(allowedForeignAlgs, ", "))
		}
	}
	switch {
	case t.ClockSkew == 0:
		t.ClockSkew = defaultClockSkew
	case t.ClockSkew < 0 || t.ClockSkew > maxClockSkew:
		return fmt.Errorf("clock_skew %s is not in [0, %s]", t.ClockSkew, maxClockSkew)
	}
	if len(t.AccessTokenTypes) == 0 {
		t.AccessTokenTypes = []string{"at+jwt"}
	}
	if t.CacheTTL <= 0 {
		t.CacheTTL = defaultCacheTTL
	}
	if t.RefreshInterval <= 0 {
		t.RefreshInterval = defaultRefreshInterval
	}
	c := &t.Claims
	c.Roles = cmpOr(c.Roles, "roles")
	c.Tenant = cmpOr(c.Tenant, "tenant")
	c.AMR = cmpOr(c.AMR, "amr")
	c.ACR = cmpOr(c.ACR, "acr")
	c.AuthTime = cmpOr(c.AuthTime, "auth_time")
	return nil
}

func cmpOr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// sameHostRedirects lets the JWKS client follow at most three redirects, on the same host.
func sameHostRedirects(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 || req.URL.Host != via[0].URL.Host {
		return http.ErrUseLastResponse
	}
	return nil
}
