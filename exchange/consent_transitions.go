package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// NewAccessRequest is what an agent asks for.
type NewAccessRequest struct {
	// Agent is the requesting user as the policy pre-check sees them (with the authentication of
	// the token they called with); AgentName is how the target will see them.
	Agent     policy.Subject
	AgentName string
	// ClientID is the client the agent called through; SourceIP their address (policy networks).
	ClientID string
	SourceIP netip.Addr
	// Target is the user whose consent is asked (required).
	Target string
	// Reason (required) and Ticket are the purpose; the exchange must send exactly these.
	Reason string
	Ticket string
	// Duration is how long the grant should be valid once approved; 0 or more than MaxDuration
	// means MaxDuration. At least one minute.
	Duration time.Duration
}

// errUnknownTarget: the target is not a user (the API answers 404).
var errUnknownTarget = fmt.Errorf("exchange: access request: unknown target: %w", storage.ErrNotFound)

// Request records a pending access request, or fails with a *[PendingRequestError] when the
// agent already has a pending request for this target (one at a time), with a
// *[ConsentInputError] for bad input and a *[ConsentDeniedError] when the policy pre-check
// refuses (the agent may never impersonate this target).
func (s *ConsentService) Request(ctx context.Context, in NewAccessRequest) (*AccessRequest, error) {
	now := s.o.Now().UTC().Truncate(time.Millisecond)
	d, err := s.checkRequest(in)
	if err != nil {
		return nil, err
	}
	t, err := s.o.Store.GetUser(ctx, in.Target)
	switch {
	case errors.Is(err, storage.ErrNotFound), err == nil && t == nil:
		return nil, errUnknownTarget
	case err != nil:
		return nil, fmt.Errorf("exchange: access request: load target: %w", err)
	}
	if s.o.Policy != nil {
		dec := s.o.Policy.Representable(ctx, policy.Input{Now: now, Actor: in.Agent, Target: subjectOf(t),
			ClientID: in.ClientID, SourceIP: in.SourceIP, Reason: in.Reason, Ticket: in.Ticket, PurposeFixed: true})
		if !dec.Allowed {
			return nil, &ConsentDeniedError{Rule: dec.Rule, Code: string(dec.Code), Reason: dec.Reason}
		}
	} else if t.Disabled {
		return nil, &ConsentDeniedError{Rule: "exchange", Code: string(policy.CodeAccountDisabled), Reason: "the target account is disabled"}
	}
	r := &AccessRequest{ID: consentNewID(), State: ConsentPending, Agent: in.Agent.ID, AgentName: in.AgentName,
		Target: t.ID, ClientID: in.ClientID, Reason: in.Reason, Ticket: in.Ticket,
		DurationSeconds: int64(d / time.Second), CreatedAt: now, ExpiresAt: now.Add(s.o.RequestTTL)}
	// The record is written before the pending lock is taken, so a lock whose record is missing is
	// always stale (takePending): a lock taken a moment ago always has its record already.
	ttl := s.recordTTL()
	if err := s.o.Store.CreateRecord(ctx, kindConsent, r.ID, r, ttl); err != nil {
		return nil, fmt.Errorf("exchange: access request: %w", err)
	}
	if err := s.takePending(ctx, r); err != nil {
		s.dropRecord(context.WithoutCancel(ctx), r.ID)
		return nil, err
	}
	for _, ix := range [][2]string{{kindConsentTarget, consentTag(r.Target)}, {kindConsentAgent, consentTag(r.Agent)},
		{kindConsentPair, consentPair(r.Agent, r.Target)}, {kindConsentOpen, consentOpenID}} {
		if err = s.o.Store.AddToIndex(ctx, ix[0], ix[1], ttl, r.ID); err != nil {
			break
		}
	}
	if err != nil {
		s.releasePending(context.WithoutCancel(ctx), r)
		s.dropRecord(context.WithoutCancel(ctx), r.ID) // index entries without a record are skipped
		return nil, fmt.Errorf("exchange: access request: %w", err)
	}
	s.audit(ctx, EventConsentRequested, r, r.Agent)
	return r, nil
}

// checkRequest validates the input and returns the granted duration.
func (s *ConsentService) checkRequest(in NewAccessRequest) (time.Duration, error) {
	switch {
	case in.Agent.ID == "":
		return 0, &ConsentInputError{Msg: "the agent is not a user"}
	case in.Target == "":
		return 0, &ConsentInputError{Msg: "'target' (a user id) is required"}
	case len(in.Target) > maxUserIDLen:
		return 0, &ConsentInputError{Msg: "'target' is not a valid user id"}
	case in.Target == in.Agent.ID:
		return 0, &ConsentInputError{Msg: "an agent cannot ask themselves for access"}
	case strings.TrimSpace(in.Reason) == "":
		return 0, &ConsentInputError{Msg: "'reason' is required: the target decides on it"}
	case in.Duration < 0 || (in.Duration > 0 && in.Duration < minConsentDuration):
		return 0, &ConsentInputError{Msg: "'duration' must be at least one minute"}
	}
	if err := checkPurposeText("'reason'", in.Reason, MaxReasonSize); err != nil {
		return 0, err
	}
	if err := checkPurposeText("'ticket'", in.Ticket, MaxTicketSize); err != nil {
		return 0, err
	}
	if s.o.SecretText != nil && (s.o.SecretText(in.Reason) || s.o.SecretText(in.Ticket)) {
		return 0, &ConsentInputError{Msg: "'reason' or 'ticket' holds what looks like a credential (a token or a key); they are kept in the audit trail, so describe the purpose in words"}
	}
	d := in.Duration
	if d == 0 || d > s.o.MaxDuration {
		d = s.o.MaxDuration
	}
	return d.Truncate(time.Second), nil
}

// consentMaxLockAttempts bounds the retries after releasing a stale pending lock.
const consentMaxLockAttempts = 4

// takePending takes the agent's pending lock for the target. When it is held by a request that
// is still pending, it fails with a *PendingRequestError naming it; a lock left by a request that
// is no longer pending is released (by owner) and taken again.
func (s *ConsentService) takePending(ctx context.Context, r *AccessRequest) error {
	pair := consentPair(r.Agent, r.Target)
	for range consentMaxLockAttempts {
		err := s.o.Store.CreateRecord(ctx, kindConsentPending, pair, pendingLock{ID: r.ID}, s.o.RequestTTL)
		if err == nil {
			return nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("exchange: access request: take the pending lock: %w", err)
		}
		var l pendingLock
		err = s.o.Store.GetRecord(ctx, kindConsentPending, pair, &l)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // released meanwhile
		case err != nil:
			return fmt.Errorf("exchange: access request: read the pending lock: %w", err)
		}
		cur, err := s.Get(ctx, l.ID)
		switch {
		case err == nil && cur.State == ConsentPending:
			return &PendingRequestError{ID: cur.ID}
		case err != nil && !errors.Is(err, ErrConsentNotFound):
			return err
		}
		s.releasePending(ctx, &AccessRequest{ID: l.ID, Agent: r.Agent, Target: r.Target})
	}
	return fmt.Errorf("exchange: access request: the pending lock kept changing: %w", storage.ErrConflict)
}

// dropRecord removes the record of a request that was never made (its lock or indexes failed);
// nobody has seen its id. A failure is logged: the record then expires with its TTL.
func (s *ConsentService) dropRecord(ctx context.Context, id string) {
	if err := s.o.Store.DeleteRecord(ctx, kindConsent, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.o.Logger.WarnContext(ctx, "consent: drop the record of a request not made", "consent_id", id, "err", err)
	}
}

// decide runs one transition by user on request id: allowed(r) must accept the current state;
// change applies it. A request that belongs to someone else is ErrConsentNotFound; an overdue one
// is expired first and then refused.
func (s *ConsentService) decide(ctx context.Context, id, want string, owner func(*AccessRequest) bool,
	from []string, change func(r *AccessRequest, now time.Time) error) (*AccessRequest, string, error) {
	if !consentValidID(id) {
		return nil, "", ErrConsentNotFound
	}
	var was string
	overdue := false
	r, err := s.update(ctx, id, func(r *AccessRequest) error {
		now := s.o.Now().UTC().Truncate(time.Millisecond)
		overdue = false
		switch {
		case !owner(r):
			return ErrConsentNotFound
		case r.overdue(now):
			overdue = true
			return &ConsentStateError{ID: r.ID, State: ConsentExpired, Want: want}
		case !slices.Contains(from, r.State):
			return &ConsentStateError{ID: r.ID, State: r.State, Want: want}
		}
		was = r.State
		return change(r, now)
	})
	if overdue {
		if _, _, xerr := s.expire(ctx, id); xerr != nil {
			return nil, "", xerr
		}
	}
	return r, was, err
}

// Approve turns target's pending request id into a consent grant valid for its duration, or for
// duration when it is positive and shorter. The request must be pending: approving one that was
// withdrawn, declined or has expired fails with a *ConsentStateError (of an approve and a
// withdraw at the same moment exactly one succeeds).
func (s *ConsentService) Approve(ctx context.Context, id, target string, duration time.Duration) (*AccessRequest, error) {
	if duration < 0 || (duration > 0 && duration < minConsentDuration) {
		return nil, &ConsentInputError{Msg: "'duration' must be at least one minute"}
	}
	var before AccessRequest
	r, was, err := s.decide(ctx, id, "approve", func(r *AccessRequest) bool { return r.Target == target },
		[]string{ConsentPending}, func(r *AccessRequest, now time.Time) error {
			before = *r
			if duration > 0 && duration.Truncate(time.Second) < r.Duration() {
				r.DurationSeconds = int64(duration / time.Second)
			}
			r.State, r.DecidedAt, r.ExpiresAt = ConsentApproved, now, now.Add(r.Duration())
			return nil
		})
	if err != nil {
		return nil, err
	}
	// An approval grants access: it stands only once the trail holds it. If the event cannot be
	// stored, the request is put back as it was (still pending, its lock still held) and the
	// approval fails; an impersonation cannot have used it meanwhile, as its own events would not
	// be stored either.
	if aerr := s.record(ctx, EventConsentApproved, r, target); aerr != nil {
		_, uerr := s.update(context.WithoutCancel(ctx), id, func(cur *AccessRequest) error {
			if cur.State != ConsentApproved || !cur.DecidedAt.Equal(r.DecidedAt) {
				return &ConsentStateError{ID: cur.ID, State: cur.State, Want: "approve"}
			}
			*cur = before
			return nil
		})
		if uerr != nil {
			s.o.Logger.ErrorContext(ctx, "consent: an approval that could not be audited could not be taken back", "consent_id", id, "err", uerr)
		}
		return nil, fmt.Errorf("exchange: consent: record the approval: %w", aerr)
	}
	s.closed(ctx, r, was)
	return r, nil
}

// Decline refuses target's pending request id.
func (s *ConsentService) Decline(ctx context.Context, id, target string) (*AccessRequest, error) {
	r, was, err := s.decide(ctx, id, "decline", func(r *AccessRequest) bool { return r.Target == target },
		[]string{ConsentPending}, func(r *AccessRequest, now time.Time) error {
			r.State, r.DecidedAt, r.EndedAt, r.EndedBy = ConsentDeclined, now, now, target
			return nil
		})
	if err != nil {
		return nil, err
	}
	s.closed(ctx, r, was)
	s.audit(ctx, EventConsentDeclined, r, target)
	return r, nil
}

// Withdraw takes agent's pending request id back.
func (s *ConsentService) Withdraw(ctx context.Context, id, agent string) (*AccessRequest, error) {
	r, was, err := s.decide(ctx, id, "withdraw", func(r *AccessRequest) bool { return r.Agent == agent },
		[]string{ConsentPending}, func(r *AccessRequest, now time.Time) error {
			r.State, r.EndedAt, r.EndedBy = ConsentWithdrawn, now, agent
			return nil
		})
	if err != nil {
		return nil, err
	}
	s.closed(ctx, r, was)
	s.audit(ctx, EventConsentWithdrawn, r, agent)
	return r, nil
}

// Revoke ends target's consent grant id (approved or used). When it was used, its representation
// is stopped, which revokes its tokens; if that fails the grant stays revoked and the error is
// returned: revoking again (a revoked grant is accepted again, without a new event) retries the
// stop.
func (s *ConsentService) Revoke(ctx context.Context, id, target string) (*AccessRequest, error) {
	r, was, err := s.decide(ctx, id, "revoke", func(r *AccessRequest) bool { return r.Target == target },
		[]string{ConsentApproved, ConsentUsed, ConsentRevoked}, func(r *AccessRequest, now time.Time) error {
			if r.State == ConsentRevoked {
				return errConsentUnchanged
			}
			r.State, r.EndedAt, r.EndedBy = ConsentRevoked, now, target
			return nil
		})
	again := errors.Is(err, errConsentUnchanged)
	if err != nil && !again {
		return nil, err
	}
	if !again {
		s.closed(ctx, r, was)
		s.audit(ctx, EventConsentRevoked, r, target)
	}
	if r.RepresentationID != "" && s.o.Representations != nil {
		if err := s.o.Representations.Stop(ctx, r.RepresentationID, target, EndStoppedByTarget); err != nil {
			return r, fmt.Errorf("exchange: consent %s revoked, but its representation could not be stopped: %w", r.ID, err)
		}
	}
	return r, nil
}

// EndRepresentation stops target's active representation repID (the account page's "End
// access"). It fails with ErrConsentNotFound when repID is not an active representation of target.
func (s *ConsentService) EndRepresentation(ctx context.Context, repID, target string) error {
	if s.o.Representations == nil {
		return ErrConsentNotFound
	}
	reps, err := s.o.Representations.ActiveForTarget(ctx, target)
	if err != nil {
		return fmt.Errorf("exchange: representations of the target: %w", err)
	}
	if !slices.ContainsFunc(reps, func(r RepresentationSummary) bool { return r.ID == repID }) {
		return ErrConsentNotFound
	}
	if err := s.o.Representations.Stop(ctx, repID, target, EndStoppedByTarget); err != nil {
		return fmt.Errorf("exchange: stop representation: %w", err)
	}
	return nil
}
