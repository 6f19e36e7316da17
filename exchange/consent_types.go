package exchange

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Consents is what the impersonation exchange needs from the consent workflow (issue 8). When the
// policy decision says ConsentRequired, the exchange calls Use before it starts the
// representation, then Attach once the representation is known, and Release when the exchange
// fails before any token left the server. *[ConsentService] implements it; the default,
// [NoConsents], finds no consent, so every impersonation that needs one is denied.
type Consents interface {
	// Use finds the target's approval for agent, bound to exactly this reason and ticket, and
	// marks it used in one atomic step (approved → used): of two concurrent exchanges only one
	// gets a fresh grant. A grant already used for a representation that is still active is
	// returned as is (RepresentationID set): the exchange may only join that representation.
	// When there is none, the error matches [ErrNoConsent] (a *[ConsentMissingError] says why);
	// storage failures are returned wrapped (storage.ErrUnavailable: 503).
	Use(ctx context.Context, agent, target, reason, ticket string) (ConsentGrant, error)
	// Attach records the representation repID started (or joined) under the fresh grant id. It
	// fails with an error matching [ErrConsentConflict] when the grant was revoked or expired
	// meanwhile; the exchange must then abort the representation and deny.
	Attach(ctx context.Context, id, repID string) error
	// Release gives a fresh grant back (used → approved) after the exchange failed before any
	// token was issued, provided it is not attached to another representation than repID (empty:
	// not attached). A grant that is no longer used (revoked, expired) is left alone.
	Release(ctx context.Context, id, repID string) error
}

// ConsentGrant is an approved consent as the exchange uses it.
type ConsentGrant struct {
	// ID is the consent id (the access request's id); tokens carry it as ClaimConsentID.
	ID string
	// ExpiresAt ends the grant; the representation started with it ends no later.
	ExpiresAt time.Time
	// RepresentationID is set when the grant had already been used for this (active)
	// representation: the exchange may only join it, never start another.
	RepresentationID string
}

// Fresh reports whether Use has just marked the grant used (it is not attached to a
// representation yet).
func (g ConsentGrant) Fresh() bool { return g.ID != "" && g.RepresentationID == "" }

// Sentinel errors of the consent workflow.
var (
	// ErrNoConsent: no approved, unexpired, unused consent matches the exchange.
	ErrNoConsent = errors.New("exchange: no matching consent")
	// ErrConsentsUnavailable: this server has no consent workflow (NoConsents). It matches
	// ErrNoConsent.
	ErrConsentsUnavailable = fmt.Errorf("%w: consent requests are not available on this server", ErrNoConsent)
	// ErrConsentConflict: the request is not in a state that allows the transition (approve a
	// request that was withdrawn, withdraw one that was approved, ...). A *[ConsentStateError]
	// names the state.
	ErrConsentConflict = errors.New("exchange: consent state conflict")
	// ErrConsentNotFound: no such request, or not one the caller may see.
	ErrConsentNotFound = errors.New("exchange: access request not found")
	// ErrConsentInvalid: the request is malformed (a *[ConsentInputError] says what).
	ErrConsentInvalid = errors.New("exchange: invalid access request")
	// ErrConsentDenied: the policy does not let this agent ask this target (a *[ConsentDeniedError]
	// carries the policy's rule and reason code).
	ErrConsentDenied = errors.New("exchange: access request denied by policy")
)

// ConsentMissingError explains why [Consents.Use] found no consent. It matches [ErrNoConsent].
type ConsentMissingError struct {
	// Pending is the id of the agent's request for this target that awaits an answer, if any.
	Pending string
	// Mismatch reports an approved grant for this agent and target whose reason or ticket differs
	// from the exchange's.
	Mismatch bool
}

// Error implements error.
func (e *ConsentMissingError) Error() string {
	switch {
	case e.Mismatch:
		return "exchange: the approved consent was given for another reason or ticket"
	case e.Pending != "":
		return "exchange: the access request " + e.Pending + " awaits the target's answer"
	}
	return ErrNoConsent.Error()
}

// Is matches [ErrNoConsent].
func (e *ConsentMissingError) Is(target error) bool { return target == ErrNoConsent }

// hint is the error_description text an agent reads at the token endpoint. It never repeats the
// reason or ticket.
func (e *ConsentMissingError) hint() string {
	switch {
	case e.Mismatch:
		return "The target approved an access request with a different reason or ticket: send exactly the approved request's reason and ticket, or request consent again with POST /api/v1/access-requests."
	case e.Pending != "":
		return fmt.Sprintf("The target has not answered the access request '%s' yet; exchange again once it is approved.", e.Pending)
	}
	return "The policy requires the target's consent and none is approved: request it with POST /api/v1/access-requests, then exchange again once the target has approved it."
}

// ConsentStateError is a refused transition: the request is in State. It matches
// [ErrConsentConflict].
type ConsentStateError struct {
	ID    string
	State string
	// Want is the transition that was refused (approve, decline, withdraw, revoke, use, attach).
	Want string
}

// Error implements error.
func (e *ConsentStateError) Error() string {
	return fmt.Sprintf("exchange: cannot %s access request %s: it is %s", e.Want, e.ID, e.State)
}

// Is matches [ErrConsentConflict].
func (e *ConsentStateError) Is(target error) bool { return target == ErrConsentConflict }

// PendingRequestError: the agent already has a pending request for this target. It matches
// [ErrConsentConflict].
type PendingRequestError struct{ ID string }

// Error implements error.
func (e *PendingRequestError) Error() string {
	return "exchange: a pending access request for this target already exists: " + e.ID
}

// Is matches [ErrConsentConflict].
func (e *PendingRequestError) Is(target error) bool { return target == ErrConsentConflict }

// ConsentInputError names what is wrong with a request. It matches [ErrConsentInvalid].
type ConsentInputError struct{ Msg string }

// Error implements error.
func (e *ConsentInputError) Error() string { return "exchange: invalid access request: " + e.Msg }

// Is matches [ErrConsentInvalid].
func (e *ConsentInputError) Is(target error) bool { return target == ErrConsentInvalid }

// ConsentDeniedError is the policy's refusal of a request. It matches [ErrConsentDenied].
type ConsentDeniedError struct{ Rule, Code, Reason string }

// Error implements error.
func (e *ConsentDeniedError) Error() string {
	return "exchange: access request denied by policy rule " + e.Rule + ": " + e.Code
}

// Is matches [ErrConsentDenied].
func (e *ConsentDeniedError) Is(target error) bool { return target == ErrConsentDenied }

// NoConsents is the Consents of a server without the consent workflow: Use always fails with
// [ErrConsentsUnavailable], so an impersonation that needs consent is denied (consent_required).
type NoConsents struct{}

var _ Consents = NoConsents{}

// Use always fails with ErrConsentsUnavailable.
func (NoConsents) Use(context.Context, string, string, string, string) (ConsentGrant, error) {
	return ConsentGrant{}, ErrConsentsUnavailable
}

// Attach always fails: no grant can exist.
func (NoConsents) Attach(context.Context, string, string) error { return ErrConsentsUnavailable }

// Release does nothing.
func (NoConsents) Release(context.Context, string, string) error { return nil }
