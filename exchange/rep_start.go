package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/actas-dev/actas/internal/warm"
	"github.com/actas-dev/actas/storage"
)

// Start opens a representation session for req, or joins the actor's active one (see
// [Representations.Start]).
//
// The rules: an actor has at most one active session. While it is active, a new exchange by the
// same actor for the same target joins it (same id and expiry; the calling client is added to the
// session's clients), and one for another target fails with an *[ActiveRepresentationError]
// naming the active session. A lock whose session has ended, expired or vanished (a crash between
// an end and the release of its lock) is released by compare-and-delete and the start is tried
// again, a bounded number of times.
//
// The lock and the session are created by one KV.CreateAll; the id pointer and the index entries
// are written just before it, and removed again when it fails. A storage outage returns an error
// wrapping storage.ErrUnavailable and leaves no lock without its session nor the reverse.
func (s *Service) Start(ctx context.Context, req StartRequest) (Representation, error) {
	now := s.o.Now().UTC()
	switch {
	case req.Actor == "" || req.Target == "":
		return Representation{}, errors.New("exchange: representation: actor and target are required")
	case req.TTL < time.Second:
		// A KV ttl of 0 means "forever": a lock must never be written without expiry.
		return Representation{}, errors.New("exchange: representation: the session TTL must be at least a second")
	case req.Actor == req.Target && req.ActorIssuer == "":
		return Representation{}, errors.New("exchange: representation: an actor cannot represent themselves")
	}
	ttl := min(req.TTL, s.o.MaxSessionTTL).Truncate(time.Millisecond)
	a := repTag(req.ActorIssuer, req.Actor)
	for attempt := 0; attempt < repMaxStartAttempts; attempt++ {
		rec := &RepSession{
			ID: repNewID(), Actor: req.Actor, ActorIssuer: req.ActorIssuer, Target: req.Target,
			ClientID: req.ClientID, Reason: req.Reason, Ticket: req.Ticket, ConsentID: req.ConsentID,
			Scopes: req.Scopes, Audiences: req.Audiences, BreakGlass: req.BreakGlass, RequestID: req.RequestID,
			StartedAt: now.Truncate(time.Millisecond), ExpiresAt: now.Truncate(time.Millisecond).Add(ttl),
		}
		err := s.create(ctx, a, rec, ttl, req.GrantID)
		if err == nil {
			s.cache.put(rec.ID, repRef{tag: a, expires: rec.ExpiresAt})
			rep := Representation{ID: rec.ID, StartedAt: rec.StartedAt, ExpiresAt: rec.ExpiresAt, GrantRecorded: req.GrantID != ""}
			if !req.AuditLater || (s.o.SingleSession && s.o.LoginSessions != nil) {
				s.audit(ctx, EventRepresentationStarted, rec, "", "") // before singleSession's own events
			} else {
				// The event is recorded while the exchange goes on (its failure is logged, never
				// fails the start); see Representation.audited. An AuditQueuer puts it in line
				// now, ahead of the grant's event.
				e := s.event(EventRepresentationStarted, rec, "", "")
				actx := context.WithoutCancel(ctx)
				record := func() error { return s.o.Audit.Record(actx, e) }
				if q, ok := s.o.Audit.(AuditQueuer); ok {
					record, rep.queued = q.Queue(actx, e), true
				}
				audited := make(chan struct{})
				warm.Go(func() {
					defer close(audited)
					s.audited(ctx, e, record())
				})
				rep.audited = audited
			}
			// Debug: the always-logged "audit event" line of the start says the same at info.
			s.o.Logger.DebugContext(ctx, "representation started", "representation_id", rec.ID,
				"actor", rec.Actor, "target", rec.Target, "client_id", rec.ClientID, "expires_at", rec.ExpiresAt)
			if err := s.singleSession(ctx, rec); err != nil {
				return Representation{}, err
			}
			return rep, nil
		}
		if !errors.Is(err, storage.ErrConflict) {
			return Representation{}, err
		}
		rep, retry, err := s.existing(ctx, a, req)
		if err != nil || !retry {
			return rep, err
		}
	}
	return Representation{}, fmt.Errorf("exchange: representation: the actor's lock kept changing: %w", storage.ErrConflict)
}

// create writes the pointer and the index entries (and grantID, when set, into the session's
// grants, as RecordGrant would), then the lock and the session in one CreateAll; with a
// storage.WritingCreator (both backends of this module) all of it in one round trip, atomically
// where the backend can. On failure the pointer, the index entries and the grant are removed
// again, and so are the lock and the record when the failure leaves it unknown whether they were
// written (best effort: alone they are harmless and expire).
func (s *Service) create(ctx context.Context, a string, rec *RepSession, ttl time.Duration, grantID string) error {
	raw, err := encodeRep(rec)
	if err != nil {
		return err
	}
	keep := ttl + s.o.Retention + time.Minute
	m := repMemberOf(rec)
	t := repTag("", rec.Target)
	writes := []storage.Write{
		{Key: repPointerKey(rec.ID), Value: []byte(a), TTL: keep},
		{Key: repTargetIndexKey(t), Value: []byte(m), TTL: keep, Add: true},
		{Key: repActorIndexKey(a), Value: []byte(m), TTL: keep, Add: true},
		{Key: repDayKey(repDay(rec.StartedAt)), Value: []byte(m), TTL: keep, Add: true},
	}
	if grantID != "" {
		writes = append(writes, storage.Write{Key: repGrantsKey(a, rec.ID), Value: []byte(grantID), TTL: ttl + grantsMargin, Add: true})
	}
	entries := []storage.Entry{
		{Key: repLockKey(a), Value: []byte(rec.ID), TTL: ttl},
		{Key: repSessionKey(a, rec.ID), Value: raw, TTL: ttl + s.o.Retention},
	}
	if s.wc != nil {
		err = s.wc.WriteCreateAll(ctx, writes, entries) // one round trip, atomically where it can
	} else if err = storage.ApplyWrites(ctx, s.kv, writes); err == nil {
		err = s.kv.CreateAll(ctx, entries)
	}
	if err != nil {
		uctx := context.WithoutCancel(ctx)
		if !errors.Is(err, storage.ErrConflict) {
			// The outcome is unknown (a reply lost after the script ran applies everything): take
			// back the lock, if it is still this session's, and the session's record too, so that
			// a start answered with an error never leaves a session without its pointer and index
			// entries behind.
			_ = s.kv.CompareAndDelete(uctx, repLockKey(a), []byte(rec.ID))
			_ = s.kv.Delete(uctx, repSessionKey(a, rec.ID))
		}
		// The pointer and the index entries are this session's alone: removing them is undoing them.
		_ = storage.UndoWrites(uctx, s.kv, writes)
		return fmt.Errorf("exchange: start representation: %w", err)
	}
	return nil
}

// existing handles a taken lock: join the active session for the same target, refuse another
// target, or release a stale lock and ask for a retry.
func (s *Service) existing(ctx context.Context, a string, req StartRequest) (Representation, bool, error) {
	cur, err := s.kv.Get(ctx, repLockKey(a))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return Representation{}, true, nil // released meanwhile
	case err != nil:
		return Representation{}, false, fmt.Errorf("exchange: start representation: read lock: %w", err)
	}
	id := string(cur)
	rec, _, err := s.loadAt(ctx, a, id)
	switch {
	case errors.Is(err, ErrRepresentationNotFound):
		return Representation{}, true, s.releaseStale(ctx, a, id)
	case err != nil:
		return Representation{}, false, fmt.Errorf("exchange: start representation: %w", err)
	}
	now := s.o.Now()
	if rec.Ended(now) {
		if rec.EndedAt.IsZero() {
			if _, _, err := s.end(ctx, a, id, "system", EndExpired, false); err != nil && !errors.Is(err, ErrRepresentationNotFound) {
				return Representation{}, false, err
			}
		}
		return Representation{}, true, s.releaseStale(ctx, a, id)
	}
	if rec.Target != req.Target || rec.Actor != req.Actor || rec.ActorIssuer != req.ActorIssuer {
		return Representation{}, false, &ActiveRepresentationError{ID: rec.ID, Target: rec.Target, Since: rec.StartedAt}
	}
	for _, sc := range req.Scopes {
		if !slices.Contains(rec.Scopes, sc) {
			return Representation{}, false, &JoinWidensError{ID: rec.ID, Scope: sc, Granted: rec.Scopes}
		}
	}
	if req.ClientID != "" && !rec.hasClient(req.ClientID) {
		switch err := s.RecordClient(ctx, rec.ID, req.ClientID); {
		case errors.Is(err, ErrRepresentationEnded):
			return Representation{}, true, nil // ended meanwhile: its lock is released or stale
		case err != nil:
			return Representation{}, false, err
		}
	}
	s.cache.put(rec.ID, repRef{tag: a, expires: rec.ExpiresAt})
	s.audit(ctx, EventRepresentationJoined, rec, "", "")
	return Representation{ID: rec.ID, StartedAt: rec.StartedAt, ExpiresAt: rec.ExpiresAt, Joined: true}, false, nil
}

// releaseStale releases the actor's lock if it still names id.
func (s *Service) releaseStale(ctx context.Context, a, id string) error {
	err := s.kv.CompareAndDelete(ctx, repLockKey(a), []byte(id))
	if err == nil || errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrConflict) {
		return nil
	}
	return fmt.Errorf("exchange: release stale representation lock: %w", err)
}

// singleSession ends the target's own login sessions when SingleSession is on. If that fails, the
// new session is aborted: the option's promise (the target is signed out while represented) holds
// or nothing is started.
func (s *Service) singleSession(ctx context.Context, rec *RepSession) error {
	if !s.o.SingleSession || s.o.LoginSessions == nil {
		return nil
	}
	err := s.o.LoginSessions.EndAllSessions(ctx, rec.Target)
	if err == nil {
		return nil
	}
	if aerr := s.Abort(ctx, rec.ID); aerr != nil {
		s.o.Logger.ErrorContext(ctx, "representation: abort after single_session failure", "representation_id", rec.ID, "err", aerr)
	}
	return fmt.Errorf("exchange: single_session: end the target's login sessions: %w", err)
}

// IsRepresented reports whether userID is the target of an active representation. Only index
// entries young enough to be active are read.
func (s *Service) IsRepresented(ctx context.Context, userID string) (bool, error) {
	recs, err := s.recentOfTarget(ctx, userID)
	if err != nil {
		return false, err
	}
	return len(recs) > 0, nil
}

// recentOfTarget returns the target's sessions that are active now.
func (s *Service) recentOfTarget(ctx context.Context, target string) ([]*RepSession, error) {
	members, err := s.kv.SetMembers(ctx, repTargetIndexKey(repTag("", target)))
	if err != nil {
		return nil, fmt.Errorf("exchange: representations of %q: %w", target, err)
	}
	now := s.o.Now()
	var ids []string
	for _, m := range members {
		started, id, ok := repParseMember(m)
		if ok && !started.Before(now.Add(-s.o.MaxSessionTTL-time.Minute)) {
			ids = append(ids, id)
		}
	}
	// Loaded revokeWorkers at a time: an agent starting and stopping sessions on one customer in a
	// loop makes this list long (it is read by the customer's sign out everywhere).
	var (
		mu   sync.Mutex
		out  []*RepSession
		errs []error
	)
	eachLimited(revokeWorkers, ids, func(id string) {
		rec, _, _, err := s.load(ctx, id)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case errors.Is(err, ErrRepresentationNotFound):
		case err != nil:
			errs = append(errs, err)
		case rec.Target == target && !rec.Ended(now):
			out = append(out, rec)
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *RepSession) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

// RecordGrant records the fosite request id of a grant issued under the session. The id is added
// first and the session checked after, so that a stop that the check does not see reads the grant
// when it revokes: a grant is either refused here or revoked by the stop.
func (s *Service) RecordGrant(ctx context.Context, repID, requestID string) error {
	if requestID == "" {
		return errors.New("exchange: record grant: empty request id")
	}
	ref, err := s.ref(ctx, repID)
	if errors.Is(err, ErrRepresentationNotFound) {
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	} else if err != nil {
		return err
	}
	if ref.expires.IsZero() {
		if _, _, ref, err = s.load(ctx, repID); err != nil {
			if errors.Is(err, ErrRepresentationNotFound) {
				return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
			}
			return err
		}
	}
	now := s.o.Now()
	if !now.Before(ref.expires) {
		return fmt.Errorf("%w: expired", ErrRepresentationEnded)
	}
	gk, ttl := repGrantsKey(ref.tag, repID), ref.expires.Sub(now)+grantsMargin
	// The add and the read in one round trip where the backend can (the grants and the record
	// share a hash tag).
	raw, rerr := storage.AddThenGet(ctx, s.kv, gk, ttl, requestID, repSessionKey(ref.tag, repID))
	if rerr != nil && !errors.Is(rerr, storage.ErrNotFound) {
		return fmt.Errorf("exchange: record grant: %w", rerr)
	}
	rec, _, err := s.decodeAt(repID, raw, rerr)
	switch {
	case errors.Is(err, ErrRepresentationNotFound):
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	case err != nil:
		return err
	case rec.Ended(s.o.Now()):
		return fmt.Errorf("%w: %s", ErrRepresentationEnded, rec.View(s.o.Now()).EndReason)
	}
	return nil
}

// RecordClient adds clientID to the clients that received tokens under the session, so that the
// back-channel logout reaches it too. The exchange calls it for tokens of the session issued to
// another client than the one that started it (a hand-off, a downscoping by a resource server).
// It fails with ErrRepresentationEnded once the session has ended.
func (s *Service) RecordClient(ctx context.Context, repID, clientID string) error {
	ref, err := s.ref(ctx, repID)
	if errors.Is(err, ErrRepresentationNotFound) {
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	} else if err != nil {
		return err
	}
	now := s.o.Now()
	_, _, err = s.update(ctx, ref.tag, repID, func(r *RepSession) error {
		switch {
		case r.Ended(now):
			return ErrRepresentationEnded
		case r.hasClient(clientID):
			return errRepUnchanged
		}
		r.Clients = append(r.Clients, clientID)
		return nil
	})
	if errors.Is(err, ErrRepresentationNotFound) {
		return fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
	}
	return err
}
