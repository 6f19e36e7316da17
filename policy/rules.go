package policy

import "time"

// Rules is the impersonation policy as plain data: the `policy:` section of the configuration,
// one field per key (the yaml tag is the key). Start from [DefaultRules] and override: for several
// booleans (RequireMFA, HonourOptOut, RequireReason) the zero value is the permissive choice.
// [New] validates a Rules value and compiles it into an [Engine].
//
// Role, client, audience and tenant names are compared exactly (case-sensitive). Configuration
// loaders commonly lower-case map keys, so keep role names used as keys of Matrix lower-case.
type Rules struct {
	// Enabled is the kill switch: when false every impersonation is denied with
	// impersonation_disabled. Default false (deploy/config.example.yaml); `--dev` turns it on.
	Enabled bool `yaml:"enabled"`

	// RoleRanks lists every role the policy knows, from the lowest rank to the highest. A target
	// is judged by its highest-ranked role; a target holding a role not listed here is denied
	// (unknown_role). Default [customer, support, auditor, admin, super_admin].
	RoleRanks []string `yaml:"role_ranks"`

	// ImpersonatorRoles are the roles that may impersonate at all; an actor holding none of them
	// is denied (not_impersonator). Default [support, admin, super_admin].
	ImpersonatorRoles []string `yaml:"impersonator_roles"`

	// Matrix maps an impersonator role to the target roles it may impersonate. An actor may
	// impersonate a target whose highest-ranked role appears in the row of any impersonator role
	// the actor holds. Nothing is impersonable unless listed: a super_admin only if a row names it.
	// Default: support → [customer]; admin → [customer, support]; super_admin → [customer,
	// support, admin].
	Matrix map[string][]string `yaml:"matrix"`

	// GlobalRoles are impersonator roles that may cross tenants: an actor may impersonate a target
	// of another tenant only if one of its global roles has the target's role in its matrix row.
	// Default [] (no cross-tenant impersonation).
	GlobalRoles []string `yaml:"global_roles"`

	// RequireMFA requires the actor to have used a second factor: an amr value in MFAMethods, or
	// an acr at least MinACR. Default true.
	RequireMFA bool `yaml:"require_mfa"`
	// MFAMethods are the amr values (RFC 8176) that count as a second factor.
	// Default [mfa, otp, hwk].
	MFAMethods []string `yaml:"mfa_methods"`
	// MinACR, when set, lets an acr value at least this level count as a second factor.
	// Default "" (acr not used).
	MinACR string `yaml:"min_acr"`
	// ACRLevels orders acr values from the weakest to the strongest, for MinACR; it must contain
	// MinACR. When empty, only an acr equal to MinACR counts. Default [].
	ACRLevels []string `yaml:"acr_levels"`
	// MaxActorAuthAge is how long ago the actor may have authenticated (auth_time); older is
	// denied with stale_authentication (re-authentication needed). Must be in (0, 24h].
	// Default 15m.
	MaxActorAuthAge time.Duration `yaml:"max_actor_auth_age"`

	// HonourOptOut denies targets whose impersonation_allowed is false (target_opted_out).
	// Default true.
	HonourOptOut bool `yaml:"honour_opt_out"`
	// BreakGlassRoles may override a target's opt-out, and only with a reason of at least
	// MinReasonLength characters; the decision then carries Obligations.BreakGlass, which the
	// caller must audit. Break-glass overrides the opt-out only: every other rule still applies.
	// Default [].
	BreakGlassRoles []string `yaml:"break_glass_roles"`

	// RequireReason requires a reason of at least MinReasonLength characters (reason_required).
	// Default true.
	RequireReason bool `yaml:"require_reason"`
	// MinReasonLength is the minimum reason length in characters, after trimming spaces; at least
	// 1 when a reason is required. Default 10.
	MinReasonLength int `yaml:"min_reason_length"`
	// MaxReasonLength bounds the reason (it is carried into the token); longer is reason_invalid.
	// Must be in [MinReasonLength, 1024]. Default 256.
	MaxReasonLength int `yaml:"max_reason_length"`

	// RequireTicket requires a ticket reference (ticket_required). Default false.
	RequireTicket bool `yaml:"require_ticket"`
	// TicketPattern is a regular expression (Go RE2 syntax) that the whole ticket must match,
	// whenever a ticket is given; anchors are implied. Empty accepts any ticket of at most 128
	// printable characters. Default `^[A-Z]+-[0-9]+$`.
	TicketPattern string `yaml:"ticket_pattern"`

	// AllowedNetworks are CIDR prefixes (or single addresses) the request's source address must
	// fall in. Empty allows any address. Default [].
	AllowedNetworks []string `yaml:"allowed_networks"`

	// AllowedClients are the OAuth client ids that may request impersonation; "*" allows any
	// client. Empty allows none (fail closed). Default [].
	AllowedClients []string `yaml:"allowed_clients"`
	// AllowedAudiences are the audiences an impersonation token may carry; "*" allows any.
	// Empty allows none (fail closed). Default [].
	AllowedAudiences []string `yaml:"allowed_audiences"`

	// ConsentRequired names the target roles and tenants whose approval is needed before an
	// impersonation (the decision then has ConsentRequired set). Default none.
	ConsentRequired ConsentRules `yaml:"consent_required"`

	// AccessTokenTTL caps the lifetime of each impersonation access token. It is short because a
	// relying party that verifies JWTs offline accepts a token until it expires, even after the
	// representation ended. Must be in (0, 1h]. Default 5m.
	AccessTokenTTL time.Duration `yaml:"access_token_ttl"`
	// SessionTTL caps the representation session. Must be in (0, 24h]. Default 1h.
	SessionTTL time.Duration `yaml:"session_ttl"`

	// AllowedScopes, when not empty, filters the requested scopes: scopes not matched are dropped
	// (and if none remains, scope_not_allowed). Empty adds no filter beyond the client's own
	// scopes. A trailing "*" matches a prefix ("orders:*"); "*" alone matches any. Default [].
	AllowedScopes []string `yaml:"allowed_scopes"`
	// DeniedScopes are never granted to an impersonation token: requesting one denies the whole
	// request (scope_denied). Same wildcard syntax as AllowedScopes.
	// Default [payments:write, account:delete, mfa:manage].
	DeniedScopes []string `yaml:"denied_scopes"`

	// CustomRules are CEL expressions that must all be true for an impersonation to be allowed,
	// evaluated after the built-in rules. Default [].
	CustomRules []CELRule `yaml:"custom_rules"`
	// CustomRuleCostLimit is the CEL runtime cost limit of each custom rule evaluation; exceeding
	// it denies. Must be in [1, 1000000]. Default 10000.
	CustomRuleCostLimit uint64 `yaml:"custom_rule_cost_limit"`
}

// ConsentRules selects the targets whose approval is required (any match requires consent).
type ConsentRules struct {
	// Roles: a target holding any of these roles must consent. Default [].
	Roles []string `yaml:"roles"`
	// Tenants: a target in any of these tenants must consent. Default [].
	Tenants []string `yaml:"tenants"`
}

// CELRule is a custom rule: a CEL expression over the variables actor, target and request that
// must evaluate to true for the impersonation to be allowed. See docs/policy.md for the variables.
type CELRule struct {
	// Name identifies the rule in decisions ("custom:" + Name): lower-case letters, digits, '_'
	// and '-', unique.
	Name string `yaml:"name"`
	// Expression is the CEL expression; it must type-check to bool.
	Expression string `yaml:"expression"`
	// Reason is the human-readable text of a denial by this rule. Default "denied by custom rule
	// <name>".
	Reason string `yaml:"reason"`
}

// Default values of [Rules] that other packages may want to show or reuse.
const (
	DefaultMaxActorAuthAge     = 15 * time.Minute
	DefaultAccessTokenTTL      = 5 * time.Minute
	DefaultSessionTTL          = time.Hour
	DefaultMinReasonLength     = 10
	DefaultMaxReasonLength     = 256
	DefaultTicketPattern       = `^[A-Z]+-[0-9]+$`
	DefaultCustomRuleCostLimit = 10000
)

// DefaultRules returns the defaults of every key of the `policy:` section (see the field
// comments). Impersonation is disabled and no client or audience is allowed: an operator must opt
// in explicitly. Each call returns fresh slices and maps.
func DefaultRules() Rules {
	return Rules{
		Enabled:           false,
		RoleRanks:         []string{"customer", "support", "auditor", "admin", "super_admin"},
		ImpersonatorRoles: []string{"support", "admin", "super_admin"},
		Matrix: map[string][]string{
			"support":     {"customer"},
			"admin":       {"customer", "support"},
			"super_admin": {"customer", "support", "admin"},
		},
		RequireMFA:          true,
		MFAMethods:          []string{"mfa", "otp", "hwk"},
		MaxActorAuthAge:     DefaultMaxActorAuthAge,
		HonourOptOut:        true,
		RequireReason:       true,
		MinReasonLength:     DefaultMinReasonLength,
		MaxReasonLength:     DefaultMaxReasonLength,
		TicketPattern:       DefaultTicketPattern,
		AccessTokenTTL:      DefaultAccessTokenTTL,
		SessionTTL:          DefaultSessionTTL,
		DeniedScopes:        []string{"payments:write", "account:delete", "mfa:manage"},
		CustomRuleCostLimit: DefaultCustomRuleCostLimit,
	}
}
