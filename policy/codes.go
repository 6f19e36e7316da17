package policy

// ReasonCode is the stable, machine-readable reason of a rule's failure. Codes are part of the
// public API (they reach OAuth clients in error responses and the audit trail): never rename one.
type ReasonCode string

// Reason codes, one or more per rule. Codes say what is wrong; the rule name says where.
const (
	// CodeNone is the code of an allowed decision and of a rule that passed.
	CodeNone ReasonCode = ""
	// CodeImpersonationDisabled: the kill switch policy.enabled is off.
	CodeImpersonationDisabled ReasonCode = "impersonation_disabled"
	// CodeMissingAttribute: an attribute the rule needs is absent or malformed (no time, no
	// subject id, no target role, no auth_time, unknown source address, no client, no audience).
	CodeMissingAttribute ReasonCode = "missing_attribute"
	// CodeAccountDisabled: the actor or the target is disabled.
	CodeAccountDisabled ReasonCode = "account_disabled"
	// CodeSelfImpersonation: actor and target are the same user.
	CodeSelfImpersonation ReasonCode = "self_impersonation"
	// CodeNestedImpersonation: the actor token already carries act, or the actor is the target of
	// an active representation.
	CodeNestedImpersonation ReasonCode = "nested_impersonation"
	// CodeClientNotAllowed: the client may not request impersonation.
	CodeClientNotAllowed ReasonCode = "client_not_allowed"
	// CodeNotImpersonator: the actor holds no impersonator role.
	CodeNotImpersonator ReasonCode = "not_impersonator"
	// CodeRoleNotAllowed: the matrix does not let the actor's roles impersonate the target's role.
	CodeRoleNotAllowed ReasonCode = "role_not_allowed"
	// CodeUnknownRole: the target holds a role that policy.role_ranks does not rank, so it cannot
	// be judged (fail closed: an unranked role may be a privileged one).
	CodeUnknownRole ReasonCode = "unknown_role"
	// CodeCrossTenant: actor and target are in different tenants and no global role allows it.
	CodeCrossTenant ReasonCode = "cross_tenant"
	// CodeTargetOptedOut: the target has opted out of impersonation.
	CodeTargetOptedOut ReasonCode = "target_opted_out"
	// CodeMFARequired: the actor must step up to a second factor.
	CodeMFARequired ReasonCode = "mfa_required"
	// CodeStaleAuthentication: the actor must re-authenticate (step-up): auth_time is too old.
	CodeStaleAuthentication ReasonCode = "stale_authentication"
	// CodeNetworkNotAllowed: the request's source address is outside the allowed networks.
	CodeNetworkNotAllowed ReasonCode = "network_not_allowed"
	// CodeReasonRequired: a reason is required and is missing or too short.
	CodeReasonRequired ReasonCode = "reason_required"
	// CodeReasonInvalid: the reason is too long or contains control characters.
	CodeReasonInvalid ReasonCode = "reason_invalid"
	// CodeTicketRequired: a ticket is required and is missing.
	CodeTicketRequired ReasonCode = "ticket_required"
	// CodeTicketInvalid: the ticket does not match policy.ticket_pattern, is too long or contains
	// control characters.
	CodeTicketInvalid ReasonCode = "ticket_invalid"
	// CodeAudienceNotAllowed: an audience of the token to issue is not allowed.
	CodeAudienceNotAllowed ReasonCode = "audience_not_allowed"
	// CodeScopeDenied: a requested scope is on the deny-list.
	CodeScopeDenied ReasonCode = "scope_denied"
	// CodeScopeNotAllowed: scopes were requested and none of them is on the allow-list.
	CodeScopeNotAllowed ReasonCode = "scope_not_allowed"
	// CodeCustomRule: a custom CEL rule returned false, errored or exceeded its cost limit.
	CodeCustomRule ReasonCode = "custom_rule"
)

// String returns the code itself.
func (c ReasonCode) String() string { return string(c) }

// Names of the built-in rules, as they appear in [Decision.Rule] and [RuleOutcome.Rule]. A custom
// rule is named [CustomRulePrefix] followed by its configured name.
const (
	RuleEnabled           = "enabled"
	RuleAttributes        = "attributes"
	RuleAccountStatus     = "account_status"
	RuleSelf              = "self"
	RuleNested            = "nested"
	RuleClients           = "allowed_clients"
	RuleImpersonatorRoles = "impersonator_roles"
	RuleMatrix            = "matrix"
	RuleTenancy           = "tenancy"
	RuleOptOut            = "opt_out"
	RuleMFA               = "mfa"
	RuleAuthAge           = "auth_age"
	RuleNetwork           = "network"
	RuleReason            = "reason"
	RuleTicket            = "ticket"
	RuleAudiences         = "allowed_audiences"
	RuleScopes            = "scopes"
	RuleConsent           = "consent"
	CustomRulePrefix      = "custom:"
)

// RuleOrder returns the fixed evaluation order of the built-in rules; custom rules follow, in
// configuration order. The first rule in this order that fails decides the denial. Structural
// rules come first (an agent is not asked to step up for a target they may never impersonate);
// rules about the concrete request come last (they are skipped by [Engine.Representable]).
func RuleOrder() []string {
	names := make([]string, len(builtins))
	for i := range builtins {
		names[i] = builtins[i].name
	}
	return names
}

// Claim names under which the exchange carries the request's purpose into the issued token and
// which the audit trail uses for the same values. They are top-level claims, not members of act:
// RFC 8693 §4.1 reserves act for identity claims of the actor.
const (
	ClaimReason = "impersonation_reason"
	ClaimTicket = "impersonation_ticket"
)
