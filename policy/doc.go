// Package policy decides impersonation: who may act as whom, with which scopes and for how long,
// and why.
//
// The caller (the RFC 8693 token-exchange grant, the dry-run API, the representable-users list)
// resolves the actor, the target, the client and the request into an [Input]; the [Engine] returns
// a [Decision]: allowed or denied, the rule that decided, a human-readable reason, a stable
// machine-readable [ReasonCode], every rule's outcome, and the obligations to apply on allow
// (token and session lifetimes, the scopes to grant, break-glass auditing).
//
// The rules are plain data ([Rules], mirroring the `policy:` section of the configuration),
// validated once by [New]; a bad rule (unknown role, invalid CIDR, regular expression or custom
// CEL expression) is an error naming its configuration key. [DefaultRules] gives the defaults.
//
// # Evaluation
//
// [Engine.Decide] evaluates every rule, in the fixed order of [RuleOrder], so that a decision
// explains itself completely; the first rule that fails is the decision's [Decision.Rule] and
// [Decision.Code]. Anything missing or malformed in the input denies: a zero [Input.Now], an empty
// subject id, a target without roles or with a role the rules do not rank, an unknown source
// address when networks are configured, a custom rule that errors or exceeds its cost limit.
//
// [Engine.Representable] is the pre-check for listing candidate targets: it skips the rules that
// depend on a concrete exchange request (client, reason, ticket, audiences, scopes) and must never
// be used to authorise an exchange.
//
// # Role semantics
//
// Roles are ranked ([Rules.RoleRanks]). A target is judged by its highest-ranked role; an actor by
// the union of the matrix rows ([Rules.Matrix]) of the impersonator roles it holds. Nothing is
// impersonable unless the matrix lists it, so a super admin is never impersonable unless the matrix
// says so explicitly. Self-impersonation and nested impersonation are always denied.
//
// # Boundaries
//
// policy is pure and deterministic: it imports only the standard library and
// github.com/google/cel-go, performs no I/O, reads no clock (the input carries the time) and knows
// nothing of HTTP, OAuth error mapping or storage. Mapping a [DeniedError] to an RFC 8693 / RFC 6749
// error response is the caller's job. An [Engine] is immutable and safe for concurrent use.
//
// See docs/policy.md for every rule with its configuration key, default and reason code.
package policy
