package config

import (
	"maps"
	"slices"
	"time"
)

// Policy is the `policy:` section: the impersonation rules, handed by cmd to the policy engine
// (package policy, whose Rules type has the same keys). docs/policy.md documents every rule; the
// engine validates the rules and its errors name the key (policy.matrix.support[0]: …).
type Policy struct {
	Enabled             bool                `mapstructure:"enabled" yaml:"enabled"`
	RoleRanks           []string            `mapstructure:"role_ranks" yaml:"role_ranks"`
	ImpersonatorRoles   []string            `mapstructure:"impersonator_roles" yaml:"impersonator_roles"`
	Matrix              map[string][]string `mapstructure:"matrix" yaml:"matrix"`
	GlobalRoles         []string            `mapstructure:"global_roles" yaml:"global_roles"`
	RequireMFA          bool                `mapstructure:"require_mfa" yaml:"require_mfa"`
	MFAMethods          []string            `mapstructure:"mfa_methods" yaml:"mfa_methods"`
	MinACR              string              `mapstructure:"min_acr" yaml:"min_acr"`
	ACRLevels           []string            `mapstructure:"acr_levels" yaml:"acr_levels"`
	MaxActorAuthAge     time.Duration       `mapstructure:"max_actor_auth_age" yaml:"max_actor_auth_age"`
	HonourOptOut        bool                `mapstructure:"honour_opt_out" yaml:"honour_opt_out"`
	BreakGlassRoles     []string            `mapstructure:"break_glass_roles" yaml:"break_glass_roles"`
	RequireReason       bool                `mapstructure:"require_reason" yaml:"require_reason"`
	MinReasonLength     int                 `mapstructure:"min_reason_length" yaml:"min_reason_length"`
	MaxReasonLength     int                 `mapstructure:"max_reason_length" yaml:"max_reason_length"`
	RequireTicket       bool                `mapstructure:"require_ticket" yaml:"require_ticket"`
	TicketPattern       string              `mapstructure:"ticket_pattern" yaml:"ticket_pattern"`
	AllowedNetworks     []string            `mapstructure:"allowed_networks" yaml:"allowed_networks"`
	AllowedClients      []string            `mapstructure:"allowed_clients" yaml:"allowed_clients"`
	AllowedAudiences    []string            `mapstructure:"allowed_audiences" yaml:"allowed_audiences"`
	ConsentRequired     ConsentRequired     `mapstructure:"consent_required" yaml:"consent_required"`
	AccessTokenTTL      time.Duration       `mapstructure:"access_token_ttl" yaml:"access_token_ttl"`
	SessionTTL          time.Duration       `mapstructure:"session_ttl" yaml:"session_ttl"`
	AllowedScopes       []string            `mapstructure:"allowed_scopes" yaml:"allowed_scopes"`
	DeniedScopes        []string            `mapstructure:"denied_scopes" yaml:"denied_scopes"`
	CustomRules         []CustomRule        `mapstructure:"custom_rules" yaml:"custom_rules"`
	CustomRuleCostLimit int                 `mapstructure:"custom_rule_cost_limit" yaml:"custom_rule_cost_limit"`
}

// ConsentRequired names the target roles and tenants whose approval an impersonation needs.
type ConsentRequired struct {
	Roles   []string `mapstructure:"roles" yaml:"roles"`
	Tenants []string `mapstructure:"tenants" yaml:"tenants"`
}

// CustomRule is a CEL expression over actor, target and request that must be true to allow.
type CustomRule struct {
	Name       string `mapstructure:"name" yaml:"name"`
	Expression string `mapstructure:"expression" yaml:"expression"`
	Reason     string `mapstructure:"reason" yaml:"reason"`
}

// defaultPolicy mirrors policy.DefaultRules: impersonation off, the role ladder
// customer < support < auditor < admin < super_admin, MFA and a recent login for actors, a
// reason required, 5-minute tokens in 1-hour sessions, payment/deletion/MFA scopes blocked.
func defaultPolicy() Policy {
	return Policy{
		RoleRanks:         []string{"customer", "support", "auditor", "admin", "super_admin"},
		ImpersonatorRoles: []string{"support", "admin", "super_admin"},
		Matrix: map[string][]string{
			"support":     {"customer"},
			"admin":       {"customer", "support"},
			"super_admin": {"customer", "support", "admin"},
		},
		RequireMFA:          true,
		MFAMethods:          []string{"mfa", "otp", "hwk"},
		MaxActorAuthAge:     15 * time.Minute,
		HonourOptOut:        true,
		RequireReason:       true,
		MinReasonLength:     10,
		MaxReasonLength:     256,
		TicketPattern:       `^[A-Z]+-[0-9]+$`,
		AccessTokenTTL:      5 * time.Minute,
		SessionTTL:          time.Hour,
		DeniedScopes:        []string{"payments:write", "account:delete", "mfa:manage"},
		CustomRuleCostLimit: 10000,
	}
}

// devPolicy turns impersonation on for the demo: the support console may impersonate, for the
// demo API (actas's own issuer is always allowed).
func devPolicy() Policy {
	p := defaultPolicy()
	p.Enabled = true
	p.AllowedClients = []string{DemoConsoleClientID}
	p.AllowedAudiences = []string{"https://api.example.com"}
	return p
}

func (p Policy) clone() Policy {
	r := p
	r.RoleRanks = slices.Clone(p.RoleRanks)
	r.ImpersonatorRoles = slices.Clone(p.ImpersonatorRoles)
	r.Matrix = maps.Clone(p.Matrix)
	for k, v := range p.Matrix {
		r.Matrix[k] = slices.Clone(v)
	}
	r.GlobalRoles = slices.Clone(p.GlobalRoles)
	r.MFAMethods = slices.Clone(p.MFAMethods)
	r.ACRLevels = slices.Clone(p.ACRLevels)
	r.BreakGlassRoles = slices.Clone(p.BreakGlassRoles)
	r.AllowedNetworks = slices.Clone(p.AllowedNetworks)
	r.AllowedClients = slices.Clone(p.AllowedClients)
	r.AllowedAudiences = slices.Clone(p.AllowedAudiences)
	r.ConsentRequired.Roles = slices.Clone(p.ConsentRequired.Roles)
	r.ConsentRequired.Tenants = slices.Clone(p.ConsentRequired.Tenants)
	r.AllowedScopes = slices.Clone(p.AllowedScopes)
	r.DeniedScopes = slices.Clone(p.DeniedScopes)
	r.CustomRules = slices.Clone(p.CustomRules)
	return r
}
