package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Exchange configures the RFC 8693 token-exchange grant (docs/exchange.md).
type Exchange struct {
	// MaxActDepth bounds the number of actors in an issued token's act chain (1 to 32).
	MaxActDepth int `mapstructure:"max_act_depth" yaml:"max_act_depth"`
	// TrustedIssuers are foreign issuers whose signed JWTs are accepted as subject or actor tokens.
	TrustedIssuers []TrustedIssuer `mapstructure:"trusted_issuers" yaml:"trusted_issuers"`
}

// TrustedIssuer is one foreign issuer (fields as in docs/exchange.md "Trusted issuers").
type TrustedIssuer struct {
	Issuer           string        `mapstructure:"issuer" yaml:"issuer"`
	JWKSURL          string        `mapstructure:"jwks_url" yaml:"jwks_url"`
	Algorithms       []string      `mapstructure:"algorithms" yaml:"algorithms"`
	Audience         string        `mapstructure:"audience" yaml:"audience"`
	ClockSkew        time.Duration `mapstructure:"clock_skew" yaml:"clock_skew"`
	AccessTokenTypes []string      `mapstructure:"access_token_types" yaml:"access_token_types"`
	Clients          []string      `mapstructure:"clients" yaml:"clients"`
	Claims           ClaimMapping  `mapstructure:"claims" yaml:"claims"`
	CacheTTL         time.Duration `mapstructure:"cache_ttl" yaml:"cache_ttl"`
	RefreshInterval  time.Duration `mapstructure:"refresh_interval" yaml:"refresh_interval"`
}

// ClaimMapping names a trusted issuer's claims for the policy (empty: the default name).
type ClaimMapping struct {
	Roles    string `mapstructure:"roles" yaml:"roles"`
	Tenant   string `mapstructure:"tenant" yaml:"tenant"`
	AMR      string `mapstructure:"amr" yaml:"amr"`
	ACR      string `mapstructure:"acr" yaml:"acr"`
	AuthTime string `mapstructure:"auth_time" yaml:"auth_time"`
}

var foreignAlgs = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func (c *Config) validateExchange(p *problems) {
	e := c.Exchange
	if e.MaxActDepth < 1 || e.MaxActDepth > 32 {
		p.add("exchange.max_act_depth", "must be between 1 and 32")
	}
	seen := map[string]bool{}
	for i, t := range e.TrustedIssuers {
		key := fmt.Sprintf("exchange.trusted_issuers[%d]", i)
		if u, err := url.Parse(t.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
			p.add(key+".issuer", "must be an absolute URL")
		} else if seen[t.Issuer] {
			p.add(key+".issuer", "%q is listed twice", t.Issuer)
		}
		seen[t.Issuer] = true
		if t.Audience == "" {
			p.add(key+".audience", "is required: the name under which this issuer knows actas")
		}
		if len(t.Algorithms) == 0 {
			p.add(key+".algorithms", "is required (asymmetric algorithms only)")
		}
		for j, a := range t.Algorithms {
			if !slices.Contains(foreignAlgs, a) {
				p.add(fmt.Sprintf("%s.algorithms[%d]", key, j), "%q is not allowed (%s; never none or HS*)", a, strings.Join(foreignAlgs, ", "))
			}
		}
		if t.JWKSURL != "" {
			if u, err := url.Parse(t.JWKSURL); err != nil || (u.Scheme != "https" && !isLoopback(u.Hostname())) {
				p.add(key+".jwks_url", "must be an https URL (http only on loopback)")
			}
		}
		if t.ClockSkew < 0 || t.ClockSkew > 5*time.Minute {
			p.add(key+".clock_skew", "must be between 0 and 5m")
		}
	}
}
