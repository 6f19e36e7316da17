package exchange

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// ErrInvalidTarget is RFC 8693 §2.2.2 / RFC 8707 §2 invalid_target: the requested audience or
// resource is invalid, unknown, or not one the client may obtain a token for. fosite has no such
// error; like fosite's own, use it only through WithHint/WithHintf, which return copies, and never
// mutate it.
var ErrInvalidTarget = &fosite.RFC6749Error{
	ErrorField:       "invalid_target",
	DescriptionField: "The requested audience or resource is invalid, unknown, or not allowed for this client.",
	CodeField:        http.StatusBadRequest,
}

// Reason codes of denials decided by the exchange itself. Policy denials carry the policy's codes
// (policy.ReasonCode: mfa_required, target_opted_out, ...). Codes are public API: never rename one.
const (
	// CodeUnknownUser: the impersonation target or the actor is not a known user.
	CodeUnknownUser = "unknown_user"
	// CodeConsentRequired: the policy requires the target's approval, which was not given.
	CodeConsentRequired = "consent_required"
	// CodeActiveRepresentation: the actor already represents another user.
	CodeActiveRepresentation = "active_representation"
	// CodeRepresentationsUnavailable: representation sessions are not available on this server.
	CodeRepresentationsUnavailable = "representations_unavailable"
	// CodeRepresentationEnded: the subject token belongs to a representation that has ended.
	CodeRepresentationEnded = "representation_ended"
	// CodeRepresentationScope: the actor's active session with this target was granted fewer
	// scopes than asked; a token that joins a session never widens it (invalid_scope).
	CodeRepresentationScope = "representation_scope"
	// CodeRequestCanceled: the client went away (its request's context ended) before the exchange
	// finished; whatever was written for it was undone. Seen in the audit trail only: nobody reads
	// the answer.
	CodeRequestCanceled = "request_canceled"
)

// Denial is a refusal with a stable machine-readable reason code. It is the cause wrapped by the
// *fosite.RFC6749Error the handler returns, so the token endpoint can find it with errors.As (or
// through the ReasonCode method) and expose the code as its own JSON member; the description
// already starts with "[reason=<code>]".
type Denial struct {
	// Code is the stable reason code (a policy.ReasonCode or one of this package's Code*).
	Code string
	// Rule is the policy rule that denied, or "exchange" for the exchange's own checks.
	Rule string
	// Message is the human-readable explanation (never the request's reason or ticket).
	Message string
}

// Error implements error.
func (d *Denial) Error() string {
	return "exchange: denied: " + d.Rule + ": " + d.Code + ": " + d.Message
}

// ReasonCode returns the code; the provider's token endpoint may look for this method.
func (d *Denial) ReasonCode() string { return d.Code }

// LogValue renders the denial for slog.
func (d *Denial) LogValue() slog.Value {
	return slog.GroupValue(slog.String("code", d.Code), slog.String("rule", d.Rule))
}

// ReasonCode returns the reason code carried by err, or "" when there is none.
func ReasonCode(err error) string {
	var d *Denial
	if errors.As(err, &d) {
		return d.Code
	}
	return ""
}

// deny builds the invalid_request error of a denial: "[reason=<code>] <message>" as the hint and
// the *Denial as the cause.
func deny(code, rule, msg string) error { return denyAs(fosite.ErrInvalidRequest, code, rule, msg) }

// denyAs is deny with another RFC 6749 error than invalid_request (e.g. invalid_scope).
func denyAs(base *fosite.RFC6749Error, code, rule, msg string) error {
	return base.WithHintf("[reason=%s] %s", code, msg).WithWrap(&Denial{Code: code, Rule: rule, Message: msg})
}

// denyPolicy maps a policy denial to RFC 8693 §2.2.2 invalid_request with the policy's code.
func denyPolicy(d policy.Decision) error {
	return deny(string(d.Code), d.Rule, fmt.Sprintf("Impersonation denied by policy rule '%s': %s.", d.Rule, d.Reason))
}

// badRequest is invalid_request with a hint.
func badRequest(format string, args ...any) error {
	return fosite.ErrInvalidRequest.WithHintf(format, args...)
}

// storageFailure wraps a storage error so that the provider answers 503 when the backend is
// unavailable (errors.Is(err, storage.ErrUnavailable) stays true) and server_error otherwise.
func storageFailure(op string, err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		return fmt.Errorf("exchange: %s: %w", op, err)
	}
	return fosite.ErrServerError.WithWrap(fmt.Errorf("exchange: %s: %w", op, err)).
		WithHint("The authorization server could not complete the exchange.")
}

// oauthErrorCode returns the RFC 6749 error code of err ("server_error" when unknown).
func oauthErrorCode(err error) string {
	if errors.Is(err, storage.ErrUnavailable) {
		return "temporarily_unavailable"
	}
	var e *fosite.RFC6749Error
	if errors.As(err, &e) {
		return e.ErrorField
	}
	return "server_error"
}
