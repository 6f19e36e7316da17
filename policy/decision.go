package policy

import (
	"errors"
	"log/slog"
	"time"
)

// Decision is the engine's answer. Its Outcomes explain it rule by rule, so a dry run can show an
// operator or an agent why a request would be allowed or denied.
type Decision struct {
	// Allowed reports whether the impersonation may proceed (subject to consent, see
	// ConsentRequired).
	Allowed bool `json:"allowed"`
	// Rule is the name of the first failing rule in evaluation order; empty when allowed.
	Rule string `json:"rule,omitempty"`
	// Code is the stable reason code of the denial; CodeNone when allowed.
	Code ReasonCode `json:"code,omitempty"`
	// Reason is a human-readable explanation. It never contains the request's reason or ticket.
	Reason string `json:"reason"`
	// Outcomes lists every rule's result in evaluation order.
	Outcomes []RuleOutcome `json:"outcomes"`
	// ConsentRequired reports that the target must approve before the impersonation starts. It is
	// computed whatever the outcome, so a list of candidates can show it.
	ConsentRequired bool `json:"consent_required"`
	// Obligations are what the caller must apply when Allowed; zero when denied.
	Obligations Obligations `json:"obligations"`
	// Precheck marks a decision made by [Engine.Representable]: the request-bound rules were
	// skipped, so it must never authorise an exchange.
	Precheck bool `json:"precheck,omitempty"`
}

// RuleOutcome is one rule's result.
type RuleOutcome struct {
	// Rule is the rule's name (see [RuleOrder]; custom rules are "custom:<name>").
	Rule string `json:"rule"`
	// Passed reports that the rule allows the request (true also when skipped).
	Passed bool `json:"passed"`
	// Skipped reports that the rule was not evaluated (pre-check of request-bound rules).
	Skipped bool `json:"skipped,omitempty"`
	// Code is the failure's reason code; CodeNone when passed.
	Code ReasonCode `json:"code,omitempty"`
	// Detail is a human-readable sentence about the outcome.
	Detail string `json:"detail"`
}

// Obligations are the conditions attached to an allowed impersonation.
type Obligations struct {
	// AccessTokenTTL is the maximum lifetime of each access token issued under the
	// representation (never longer than SessionTTL).
	AccessTokenTTL time.Duration `json:"access_token_ttl"`
	// SessionTTL is the maximum lifetime of the representation session.
	SessionTTL time.Duration `json:"session_ttl"`
	// Scopes are the scopes to grant: the requested ones that the allow-list matches, in request
	// order, without duplicates. Never contains a denied scope.
	Scopes []string `json:"scopes"`
	// BreakGlass reports that the target's opt-out was overridden by a break-glass role; the
	// caller must audit it prominently.
	BreakGlass bool `json:"break_glass,omitempty"`
}

// Err returns nil when the decision allows, and a *[DeniedError] otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &DeniedError{Code: d.Code, Rule: d.Rule, Reason: d.Reason}
}

// Outcome returns the outcome of the named rule and whether it was evaluated.
func (d Decision) Outcome(rule string) (RuleOutcome, bool) {
	for _, o := range d.Outcomes {
		if o.Rule == rule {
			return o, true
		}
	}
	return RuleOutcome{}, false
}

// ErrDenied matches every [DeniedError] with [errors.Is].
var ErrDenied = errors.New("policy: impersonation denied")

// DeniedError is a policy denial as an error. Callers map it to their protocol's error (for the
// token exchange: RFC 6749 §5.2 access_denied / invalid_grant with the code in the description);
// the policy package does not know HTTP.
type DeniedError struct {
	// Code is the stable reason code.
	Code ReasonCode
	// Rule is the name of the rule that denied.
	Rule string
	// Reason is the human-readable explanation.
	Reason string
}

// Error implements error: "policy: <rule>: <code>: <reason>".
func (e *DeniedError) Error() string {
	return "policy: " + e.Rule + ": " + string(e.Code) + ": " + e.Reason
}

// Is reports whether target is [ErrDenied], or a *DeniedError with the same Code (a target with
// an empty Code matches any denial).
func (e *DeniedError) Is(target error) bool {
	if target == ErrDenied {
		return true
	}
	var t *DeniedError
	if !errors.As(target, &t) || t == nil {
		return false
	}
	return t.Code == CodeNone || t.Code == e.Code
}

// LogValue renders the denial as a slog group (code, rule, reason).
func (e *DeniedError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("code", string(e.Code)),
		slog.String("rule", e.Rule),
		slog.String("reason", e.Reason),
	)
}
