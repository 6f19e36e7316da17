package exchange

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Representations is what the exchange needs from the representation-session service (issue 6):
// one active representation per actor, taken atomically with the session record, ended by either
// side, every grant under it recorded so that ending it revokes them all.
//
// Until that service exists, [DenyRepresentations] refuses every impersonation. An implementation
// must never report success without having stored the session and its lock.
type Representations interface {
	// Start opens a representation for req, or joins the actor's active one when it has the same
	// target (Representation.Joined is then true and ExpiresAt is the existing session's). When the
	// actor already represents another user it fails with an error matching
	// [ErrActiveRepresentation] (preferably an *[ActiveRepresentationError] naming that session).
	// Taking the lock and writing the session must be one atomic storage operation.
	Start(ctx context.Context, req StartRequest) (Representation, error)
	// Active returns nil while the representation id is active, an error matching
	// [ErrRepresentationEnded] once it has ended or expired, and a storage error (wrapping
	// storage.ErrUnavailable when unreachable) when it cannot tell. Called when a token issued
	// under the representation is exchanged again or refreshed.
	Active(ctx context.Context, id string) error
	// IsRepresented reports whether userID is the target of an active representation (such a user
	// may not impersonate anyone: no nested impersonation).
	IsRepresented(ctx context.Context, userID string) (bool, error)
	// RecordGrant records the fosite request id of a grant issued under representation repID, so
	// that ending the representation revokes its tokens (refreshing keeps the request id). It is
	// called before any token of the grant is issued.
	RecordGrant(ctx context.Context, repID, requestID string) error
	// Abort ends a representation that Start opened (not joined) for an exchange that then failed
	// before any token left the server, releasing the actor's lock: a failed grant never locks an
	// agent out.
	Abort(ctx context.Context, id string) error
}

// StartRequest is everything a representation session records at its start.
type StartRequest struct {
	// Actor is the acting user's id (the actor token's sub); ActorIssuer is set when the actor was
	// authenticated by a trusted issuer rather than actas.
	Actor       string
	ActorIssuer string
	// Target is the represented user's id.
	Target string
	// ClientID is the client that asked for the exchange.
	ClientID string
	// Reason and Ticket are the purpose given by the actor (validated by the policy).
	Reason string
	Ticket string
	// ConsentID names the target's approval when the policy required one.
	ConsentID string
	// TTL is the session lifetime granted by the policy (Obligations.SessionTTL).
	TTL time.Duration
	// Scopes and Audiences are what the first token of the session is granted.
	Scopes    []string
	Audiences []string
	// BreakGlass reports that the target's opt-out was overridden (always audited).
	BreakGlass bool
	// RequestID is the HTTP request id of the exchange, for correlation with logs and audit.
	RequestID string
	// GrantID, when set, is the fosite request id of the grant the exchange is about to issue: a
	// start that opens a new session records it with the session, in the same write, as
	// RecordGrant would (Representation.GrantRecorded), saving the exchange a round trip. A join
	// does not record it (the caller calls RecordGrant).
	GrantID string
	// AuditLater lets Start return before the start's audit event is recorded; the caller must
	// then wait for it (Representation.audited) before it records any other event of the
	// session. The exchange sets it, so that the event is stored while the token is made.
	AuditLater bool
}

// Representation is a started or joined representation session.
type Representation struct {
	// ID is the session id (≥ 128 random bits, URL-safe); tokens carry it as `sid`.
	ID string
	// StartedAt and ExpiresAt bound the session; no token issued under it outlives ExpiresAt.
	StartedAt time.Time
	ExpiresAt time.Time
	// Joined reports that the actor's active session for the same target was joined rather than
	// a new one opened.
	Joined bool
	// GrantRecorded reports that StartRequest.GrantID was recorded with the new session; the
	// grant then needs no RecordGrant.
	GrantRecorded bool
	// audited, when not nil, is closed once the start's audit event is recorded (or has failed):
	// [Service.Start] records it while the exchange goes on, and the exchange waits for it before
	// it records any other event of the request, so the trail keeps their order.
	audited <-chan struct{}
	// queued reports that the start's event was put in line (AuditQueuer) before Start returned:
	// an event the request records through the same Audit is then recorded after it without
	// waiting for audited.
	queued bool
}

// waitAudited waits until the start's audit event is settled.
func (r Representation) waitAudited() {
	if r.audited != nil {
		<-r.audited
	}
}

// Sentinel errors of the representation service.
var (
	// ErrActiveRepresentation: the actor already has an active representation of another user.
	ErrActiveRepresentation = errors.New("exchange: the actor already has an active representation")
	// ErrRepresentationEnded: the representation has ended or expired.
	ErrRepresentationEnded = errors.New("exchange: the representation has ended")
	// ErrRepresentationsUnavailable: representation sessions are not available on this server.
	ErrRepresentationsUnavailable = errors.New("exchange: representation sessions are not available")
)

// ActiveRepresentationError names the actor's active representation, so that a console can offer
// to stop it. It matches [ErrActiveRepresentation].
type ActiveRepresentationError struct {
	ID     string
	Target string
	Since  time.Time
}

// Error implements error.
func (e *ActiveRepresentationError) Error() string {
	return fmt.Sprintf("exchange: the actor already represents %q in session %q since %s",
		e.Target, e.ID, e.Since.UTC().Format(time.RFC3339))
}

// Is matches [ErrActiveRepresentation].
func (e *ActiveRepresentationError) Is(target error) bool { return target == ErrActiveRepresentation }

// JoinWidensError is the error of a start that would join the actor's active session with the
// same target but asks for a scope the session was not granted: a join never widens a session.
type JoinWidensError struct {
	ID      string   // the active session
	Scope   string   // the first scope asked that the session lacks
	Granted []string // the session's scopes
}

// Error implements error.
func (e *JoinWidensError) Error() string {
	return fmt.Sprintf("exchange: the scope %q was not granted to the active representation %q", e.Scope, e.ID)
}

// DenyRepresentations is the Representations of a server without representation sessions: it
// refuses to start any, so every impersonation is denied (invalid_request, reason
// representations_unavailable), and it reports every existing representation id as ended.
type DenyRepresentations struct{}

var _ Representations = DenyRepresentations{}

// Start always fails with [ErrRepresentationsUnavailable].
func (DenyRepresentations) Start(context.Context, StartRequest) (Representation, error) {
	return Representation{}, ErrRepresentationsUnavailable
}

// Active always fails: no representation can be active without the service.
func (DenyRepresentations) Active(context.Context, string) error {
	return fmt.Errorf("%w: %w", ErrRepresentationEnded, ErrRepresentationsUnavailable)
}

// IsRepresented reports false: without the service no representation is active.
func (DenyRepresentations) IsRepresented(context.Context, string) (bool, error) { return false, nil }

// RecordGrant always fails with [ErrRepresentationsUnavailable].
func (DenyRepresentations) RecordGrant(context.Context, string, string) error {
	return ErrRepresentationsUnavailable
}

// Abort does nothing: nothing was started.
func (DenyRepresentations) Abort(context.Context, string) error { return nil }
