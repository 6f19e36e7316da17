package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/actas-dev/actas/storage"
)

// Stop ends the session id: it marks the record ended (compare-and-swap: by whom, why, when),
// releases the actor's lock if it still names this session (compare-and-delete), revokes every
// grant recorded under the session (access and refresh tokens: introspection then answers
// active:false, refresh and userinfo fail), and then, without waiting, sends the back-channel
// logout to every client that received tokens under it and records the audit event.
//
// It is idempotent: stopping an ended session changes nothing in its record, sends nothing, and
// completes the lock release and the revocation again (so that a retry after a partial failure
// finishes the job). It returns the record as stored and whether this call ended it. An unknown
// id is [ErrRepresentationNotFound]; a storage outage wraps storage.ErrUnavailable.
func (s *Service) Stop(ctx context.Context, id, by, reason string) (*RepSession, bool, error) {
	ref, err := s.ref(ctx, id)
	if err != nil {
		return nil, false, err
	}
	return s.end(ctx, ref.tag, id, by, reason, reason != EndAborted && reason != EndExpired)
}

// Abort ends a session that Start opened for an exchange that then failed: reason "aborted",
// the lock released, no back-channel logout (no token left the server).
func (s *Service) Abort(ctx context.Context, id string) error {
	_, _, err := s.Stop(ctx, id, "system", EndAborted)
	if errors.Is(err, ErrRepresentationNotFound) {
		return nil
	}
	return err
}

// end is Stop for a known actor tag; logout says whether a back-channel logout is sent.
func (s *Service) end(ctx context.Context, a, id, by, reason string, logout bool) (*RepSession, bool, error) {
	now := s.o.Now().UTC().Truncate(time.Millisecond)
	rec, changed, err := s.update(ctx, a, id, func(r *RepSession) error {
		if !r.EndedAt.IsZero() {
			return errRepUnchanged
		}
		r.EndedAt, r.EndReason, r.EndedBy = now, reason, by
		if !now.Before(r.ExpiresAt) {
			// It had expired before anyone ended it: that is how it ended.
			r.EndedAt, r.EndReason, r.EndedBy = r.ExpiresAt, EndExpired, "system"
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	// From here on the session has ended. A failure to release the lock or to revoke is returned
	// (a retry completes both), but never keeps this call from auditing and telling relying
	// parties of the end it recorded: a retry will not, since it changes nothing.
	errs := errors.Join(s.releaseStale(ctx, a, id), s.revoke(ctx, a, id))
	if !changed {
		return rec, false, errs
	}
	s.audit(ctx, eventForEnd(rec.EndReason), rec, rec.EndedBy, rec.EndReason)
	s.o.Logger.InfoContext(ctx, "representation ended", "representation_id", id, "reason", rec.EndReason, "ended_by", rec.EndedBy)
	if logout && rec.EndReason != EndExpired {
		s.sendLogout(rec)
	}
	if rec.EndReason != EndExpired {
		s.sweepLater(func(ctx context.Context) {
			if err := s.revoke(ctx, a, id); err != nil {
				s.o.Logger.ErrorContext(ctx, "representation: second revocation sweep failed", "representation_id", id, "err", err)
			}
		})
	}
	return rec, true, errs
}

// revokeWorkers is how many grants of one session are revoked at once.
const revokeWorkers = 8

// revoke revokes every grant recorded under the session: all its access and refresh tokens. It
// tries every grant, revokeWorkers at a time (a session an agent kept exchanging under can hold
// thousands), and is idempotent.
func (s *Service) revoke(ctx context.Context, a, id string) error {
	grants, err := s.kv.SetMembers(ctx, repGrantsKey(a, id))
	if err != nil {
		return fmt.Errorf("exchange: revoke representation %s: %w", id, err)
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	eachLimited(revokeWorkers, grants, func(g string) {
		if err := s.revokeGrant(ctx, g); err != nil {
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("exchange: revoke representation %s: %w", id, err)
	}
	return nil
}

// Active returns nil while the session is active, and an error matching ErrRepresentationEnded
// once it has ended, expired or is unknown. It also ends the session when its actor is no longer
// an active user (reason actor_disabled) or holds no impersonator role any more
// (actor_role_revoked): this check runs at every use of a token of the session (re-exchange,
// refresh, introspection, userinfo). Storage failures are returned as they are (wrapping
// storage.ErrUnavailable when unreachable), never as "ended".
func (s *Service) Active(ctx context.Context, id string) error {
	ref, err := s.ref(ctx, id)
	if errors.Is(err, ErrRepresentationNotFound) {
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	} else if err != nil {
		return err
	}
	now := s.o.Now()
	if !ref.expires.IsZero() && !now.Before(ref.expires) {
		s.noteExpired(ctx, ref.tag, id)
		return fmt.Errorf("%w: %s", ErrRepresentationEnded, EndExpired)
	}
	rec, _, err := s.loadAt(ctx, ref.tag, id)
	switch {
	case errors.Is(err, ErrRepresentationNotFound):
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	case err != nil:
		return err
	case !rec.EndedAt.IsZero():
		return fmt.Errorf("%w: %s", ErrRepresentationEnded, rec.EndReason)
	case !now.Before(rec.ExpiresAt):
		s.noteExpired(ctx, ref.tag, id)
		return fmt.Errorf("%w: %s", ErrRepresentationEnded, EndExpired)
	}
	if ref.expires.IsZero() {
		s.cache.put(id, repRef{tag: ref.tag, expires: rec.ExpiresAt})
	}
	if rec.ActorIssuer != "" {
		return nil // a trusted issuer's actor: its roles came with its token, not from our users
	}
	reason, err := s.actorProblem(ctx, rec.Actor)
	if err != nil || reason == "" {
		return err
	}
	if _, _, err := s.end(ctx, ref.tag, id, "system", reason, true); err != nil && !errors.Is(err, ErrRepresentationNotFound) {
		return err
	}
	return fmt.Errorf("%w: %s", ErrRepresentationEnded, reason)
}

// actorProblem says why a local actor may no longer represent anyone ("" when they may).
func (s *Service) actorProblem(ctx context.Context, actor string) (string, error) {
	u, err := s.o.Store.GetUser(ctx, actor)
	switch {
	case errors.Is(err, storage.ErrNotFound) || (err == nil && u == nil):
		return EndActorDisabled, nil
	case err != nil:
		return "", fmt.Errorf("exchange: representation actor: %w", err)
	case u.Disabled:
		return EndActorDisabled, nil
	case !repHasAnyRole(u.Roles, s.o.ImpersonatorRoles):
		return EndActorRoleLost, nil
	}
	return "", nil
}

// noteExpired records that a session expired (reason expired, no back-channel logout: every token
// of the session expires with it); failures only matter to the record and are logged.
func (s *Service) noteExpired(ctx context.Context, a, id string) {
	if _, _, err := s.end(ctx, a, id, "system", EndExpired, false); err != nil && !errors.Is(err, ErrRepresentationNotFound) {
		s.o.Logger.WarnContext(ctx, "representation: record expiry", "representation_id", id, "err", err)
	}
}

// Current returns the actor's active session (a local actor: issuer ""), or ErrRepresentationNotFound.
func (s *Service) Current(ctx context.Context, issuer, actor string) (*RepSession, error) {
	a := repTag(issuer, actor)
	cur, err := s.kv.Get(ctx, repLockKey(a))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, ErrRepresentationNotFound
	case err != nil:
		return nil, fmt.Errorf("exchange: current representation: %w", err)
	}
	rec, _, err := s.loadAt(ctx, a, string(cur))
	if errors.Is(err, ErrRepresentationNotFound) {
		// A lock without its session (it vanished): release it.
		return nil, errors.Join(ErrRepresentationNotFound, s.releaseStale(ctx, a, string(cur)))
	} else if err != nil {
		return nil, err
	}
	if rec.Ended(s.o.Now()) {
		if rec.EndedAt.IsZero() {
			s.noteExpired(ctx, a, rec.ID)
		}
		return nil, ErrRepresentationNotFound
	}
	return rec, nil
}

// EndForActor ends the actor's active session, if any (reason and by as in Stop). It returns the
// id of the session it ended, or "".
func (s *Service) EndForActor(ctx context.Context, issuer, actor, by, reason string) (string, error) {
	rec, err := s.Current(ctx, issuer, actor)
	if errors.Is(err, ErrRepresentationNotFound) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	_, changed, err := s.end(ctx, repTag(issuer, actor), rec.ID, by, reason, true)
	if err != nil || !changed {
		return "", err
	}
	return rec.ID, nil
}

// EndForTarget ends every active session that represents target. It returns the ids it ended.
func (s *Service) EndForTarget(ctx context.Context, target, by, reason string) ([]string, error) {
	recs, err := s.recentOfTarget(ctx, target)
	if err != nil {
		return nil, err
	}
	var ended []string
	var errs []error
	for _, r := range recs {
		_, changed, err := s.end(ctx, repTag(r.ActorIssuer, r.Actor), r.ID, by, reason, true)
		switch {
		case err != nil:
			errs = append(errs, err)
		case changed:
			ended = append(ended, r.ID)
		}
	}
	return ended, errors.Join(errs...)
}

// OnLoginSessionEnded is the hook for login.Service.OnLoginSessionEnded: the representer's logout
// (RP-initiated logout, or the end of their login session) ends their active representation, and
// the clients that received tokens under the login session get its back-channel logout.
// Errors are logged: the hook has no way to report them, and the session still ends at expiry.
func (s *Service) OnLoginSessionEnded(ctx context.Context, subject, sessionID string) {
	ctx = context.WithoutCancel(ctx)
	s.logoutLogin(ctx, subject, sessionID)
	id, err := s.EndForActor(ctx, "", subject, subject, EndActorLogout)
	switch {
	case err != nil:
		s.o.Logger.ErrorContext(ctx, "representation: end on the actor's logout failed", "actor", subject, "err", err)
	case id != "":
		s.o.Logger.InfoContext(ctx, "representation ended by the actor's logout", "representation_id", id, "actor", subject)
	}
}

// SignOutEverywhere is the target's "sign out everywhere": it ends the user's own login sessions
// (through LoginSessions, when set), every active representation of the user, and the user's own
// active representation as an actor. It returns the representation ids it ended.
func (s *Service) SignOutEverywhere(ctx context.Context, user string) ([]string, error) {
	var errs []error
	if s.o.LoginSessions != nil {
		if err := s.o.LoginSessions.EndAllSessions(ctx, user); err != nil {
			errs = append(errs, fmt.Errorf("exchange: end login sessions: %w", err))
		}
	}
	ended, err := s.EndForTarget(ctx, user, user, EndTargetSignOut)
	errs = append(errs, err)
	id, err := s.EndForActor(ctx, "", user, user, EndActorLogout)
	errs = append(errs, err)
	if id != "" {
		ended = append(ended, id)
	}
	return ended, errors.Join(errs...)
}

// Get returns the session id, recording its expiry if it expired unnoticed.
func (s *Service) Get(ctx context.Context, id string) (*RepSession, error) {
	rec, _, ref, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.EndedAt.IsZero() && !s.o.Now().Before(rec.ExpiresAt) {
		if r, _, err := s.end(ctx, ref.tag, id, "system", EndExpired, false); err == nil {
			rec = r
		}
	}
	return rec, nil
}
