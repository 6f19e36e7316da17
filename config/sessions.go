package config

import (
	"fmt"
	"time"
)

// Representations configures representation sessions (docs/representations.md).
type Representations struct {
	// SingleSession: starting a representation ends the target's own login sessions (for apps
	// that cannot hold two sessions of one user). Off by default.
	SingleSession bool `mapstructure:"single_session" yaml:"single_session"`
	// Retention is how long an ended session stays readable (for /me/representations and audits).
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
}

// Consent configures the consent workflow (docs/consent.md).
type Consent struct {
	// RequestTTL is how long an access request waits for the customer's answer.
	RequestTTL time.Duration `mapstructure:"request_ttl" yaml:"request_ttl"`
	// Retention is how long a finished request stays visible.
	Retention time.Duration `mapstructure:"retention" yaml:"retention"`
	// MeScopes are the scopes a customer's token needs for /api/v1/me/access-requests (list,
	// approve, decline, revoke); default [DefaultConsentScope]; an explicit empty list: any access
	// token of the customer for actas.
	MeScopes []string `mapstructure:"me_scopes" yaml:"me_scopes"`
}

// DefaultConsentScope is the scope a customer's token needs by default to answer access requests
// through the API: a client must be allowed it and (unless first-party) the customer must approve
// it for that client, so a token held by an app signed in to for something else cannot approve an
// agent's access.
const DefaultConsentScope = "actas:consent"

// Handoff configures mobile hand-off codes (docs/mobile.md).
type Handoff struct {
	// TTL is how long a hand-off code can be redeemed (at most 5 minutes).
	TTL time.Duration `mapstructure:"ttl" yaml:"ttl"`
}

func (c *Config) validateSessions(p *problems) {
	if c.Handoff.TTL <= 0 || c.Handoff.TTL > 5*time.Minute {
		p.add("handoff.ttl", "must be between 1s and 5m")
	}
	positive(p, "representations.retention", c.Representations.Retention)
	positive(p, "consent.request_ttl", c.Consent.RequestTTL)
	positive(p, "consent.retention", c.Consent.Retention)
	for j, sc := range c.Consent.MeScopes {
		if !isScopeToken(sc) {
			p.add(fmt.Sprintf("consent.me_scopes[%d]", j), "must be a non-empty scope token without spaces or quotes (RFC 6749 §3.3)")
		}
	}
}
