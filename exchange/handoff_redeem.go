package exchange

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/actas-dev/actas/storage"
)

// HandoffRedeemer is what the token-exchange grant needs to redeem hand-off codes. The grant finds
// it by asserting Options.Representations to it (*[Service] implements it), so that no option of
// the grant changes; a Representations without it makes every redemption fail with
// [CodeHandoffsUnavailable].
type HandoffRedeemer interface {
	// RedeemHandoff marks the code used by clientID for the grant grantID (the fosite request id
	// whose tokens the redemption will issue), atomically: of any number of concurrent
	// redemptions, one succeeds. It fails with [ErrHandoffUnknown], [ErrHandoffExpired],
	// [ErrHandoffWrongClient] (the code stays usable), [ErrRepresentationEnded], a replay error
	// matching [ErrHandoffReplayed] (the first use's grant is then revoked), or a storage error.
	// The returned grant names the hand-off, representation, agent and user whenever they are
	// known, even with an error (for the audit event). check, when not nil, is called with the
	// full grant before the code is marked used: an error from it is returned as it is and leaves
	// the code usable (a request the redemption refuses, such as one for a scope the
	// representation lacks, does not spend the code).
	RedeemHandoff(ctx context.Context, code HandoffCode, clientID, grantID string, check func(HandoffGrant) error) (HandoffGrant, error)
	// SettleHandoff is called once the redemption's tokens are stored: if a replay revoked the
	// grant meanwhile (before the tokens existed), it revokes them now and returns an error
	// matching [ErrHandoffReplayed]. Between the two calls, a replay revokes what exists and this
	// call what came after, so that nothing issued by a replayed code survives.
	SettleHandoff(ctx context.Context, code HandoffCode, grantID string) error
}

var _ HandoffRedeemer = (*Service)(nil)

// HandoffGrant is what a redemption issues tokens from: the representation, as it was recorded
// when it started (scopes and audiences approved by the policy, purpose, consent), bounded by its
// end and the hand-off's access-token cap.
type HandoffGrant struct {
	HandoffID        string
	RepresentationID string
	Actor            string
	ActorIssuer      string
	Target           string
	Scopes           []string
	Audiences        []string
	Reason           string
	Ticket           string
	ConsentID        string
	// ExpiresAt is the representation's end: no token of the redemption outlives it.
	ExpiresAt time.Time
	// AccessTokenTTL caps the redemption's access tokens; 0: no cap beyond the client's lifespan.
	AccessTokenTTL time.Duration
	// RevokedGrant is the first use's grant that a replay revoked.
	RevokedGrant string
}

// HandoffReplayError is the error of a replayed code: it names the grant of the first use, which
// the replay revoked (RevokeErr is set when that revocation failed; a later sweep retries it).
// It matches [ErrHandoffReplayed].
type HandoffReplayError struct {
	HandoffID    string
	RevokedGrant string
	RevokeErr    error
	// Repeat: the code had been replayed handoffAuditedReplays times already; this replay changed
	// nothing (the first one revoked the grant and scheduled the second sweep) and is not audited.
	Repeat bool
}

// Error implements error.
func (e *HandoffReplayError) Error() string {
	s := "exchange: hand-off " + e.HandoffID + " replayed; revoked grant " + e.RevokedGrant
	if e.RevokeErr != nil {
		s += " (revocation failed: " + e.RevokeErr.Error() + ")"
	}
	return s
}

// Is matches [ErrHandoffReplayed].
func (e *HandoffReplayError) Is(target error) bool { return target == ErrHandoffReplayed }

// RedeemHandoff implements [HandoffRedeemer]. Order: a used code is a replay whoever presents it
// (and whatever its age within the grace); then expiry; then the client; then the representation
// (which must be active: the agent still enabled and an impersonator); then the compare-and-swap
// that marks it used. A representation that ends after this call is caught when the grant is
// recorded against it (RecordGrant), before any token exists.
func (s *Service) RedeemHandoff(ctx context.Context, code HandoffCode, clientID, grantID string, check func(HandoffGrant) error) (HandoffGrant, error) {
	if grantID == "" {
		return HandoffGrant{}, errors.New("exchange: redeem hand-off: empty grant id")
	}
	key := code.key()
	for n := 0; n < repMaxCAS; n++ {
		if n > 0 {
			if err := repBackoff(ctx, n); err != nil {
				return HandoffGrant{}, err
			}
		}
		rec, raw, err := s.loadHandoff(ctx, key)
		if err != nil {
			return HandoffGrant{}, err
		}
		g := HandoffGrant{HandoffID: rec.ID, RepresentationID: rec.RepresentationID, Actor: rec.Actor,
			ActorIssuer: rec.ActorIssuer, Target: rec.Target}
		now := s.o.Now()
		switch {
		case !rec.UsedAt.IsZero():
			return g, s.handoffReplayed(ctx, key, rec)
		case !now.Before(rec.ExpiresAt):
			return g, ErrHandoffExpired
		case rec.ClientID != clientID:
			return g, ErrHandoffWrongClient
		}
		if err := s.Active(ctx, rec.RepresentationID); err != nil {
			return g, err
		}
		rep, _, _, err := s.load(ctx, rec.RepresentationID)
		switch {
		case errors.Is(err, ErrRepresentationNotFound):
			return g, fmt.Errorf("%w: unknown session", ErrRepresentationEnded)
		case err != nil:
			return g, err
		case rep.Ended(now):
			return g, fmt.Errorf("%w: %s", ErrRepresentationEnded, rep.View(now).EndReason)
		}
		full := g
		full.Scopes, full.Audiences, full.ExpiresAt = rep.Scopes, rep.Audiences, rep.ExpiresAt
		full.Reason, full.Ticket, full.ConsentID, full.AccessTokenTTL = rep.Reason, rep.Ticket, rep.ConsentID, rec.AccessTokenTTL
		if check != nil {
			if err := check(full); err != nil {
				return g, err
			}
		}
		used := *rec
		used.UsedAt, used.GrantID = now.UTC(), grantID
		next, err := encodeHandoff(&used)
		if err != nil {
			return g, err
		}
		switch err := s.kv.CompareAndSwap(ctx, key, raw, next, used.ttl(now)); {
		case errors.Is(err, storage.ErrConflict):
			continue // another redemption won, or a replay was counted: look again
		case errors.Is(err, storage.ErrNotFound):
			return g, ErrHandoffUnknown
		case err != nil:
			return g, fmt.Errorf("exchange: redeem hand-off: %w", err)
		}
		g = full
		s.o.Logger.InfoContext(ctx, "hand-off redeemed", "handoff_id", rec.ID, "representation_id", rec.RepresentationID,
			"client_id", clientID, "grant_id", grantID)
		return g, nil
	}
	return HandoffGrant{}, fmt.Errorf("exchange: redeem hand-off: too many concurrent changes: %w", storage.ErrConflict)
}

// loadHandoff reads the hand-off at key; ErrHandoffUnknown when there is none.
func (s *Service) loadHandoff(ctx context.Context, key string) (*handoffRecord, []byte, error) {
	raw, err := s.kv.Get(ctx, key)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return nil, nil, ErrHandoffUnknown
	case err != nil:
		return nil, nil, fmt.Errorf("exchange: hand-off: %w", err)
	}
	rec, err := decodeHandoff(raw)
	if err != nil {
		return nil, nil, err
	}
	return rec, raw, nil
}

// handoffAuditedReplays is how many replays of one code are handled and audited in full (enough to
// show, say, the code presented by another client too); later ones are answered and logged only.
const handoffAuditedReplays = 3

// handoffReplayed handles a second use: the tombstone is marked revoked (so that the first use,
// if its tokens are not stored yet, revokes them itself in SettleHandoff), then the first use's
// grant is revoked now and once more after the re-sweep delay.
func (s *Service) handoffReplayed(ctx context.Context, key string, rec *handoffRecord) error {
	ctx = context.WithoutCancel(ctx)
	if rec.Replays >= handoffAuditedReplays {
		// Replayed and handled several times already: whoever keeps presenting the code (a flood
		// of it would otherwise write an audit event, a tombstone update and a sweep each time) is
		// answered the same and only logged.
		s.o.Logger.InfoContext(ctx, "hand-off code replayed again", "handoff_id", rec.ID, "replays", rec.Replays)
		return &HandoffReplayError{HandoffID: rec.ID, RevokedGrant: rec.GrantID, Repeat: true}
	}
	if err := s.markHandoffRevoked(ctx, key); err != nil {
		s.o.Logger.ErrorContext(ctx, "hand-off replay: mark revoked", "handoff_id", rec.ID, "err", err)
	}
	rerr := s.revokeGrant(ctx, rec.GrantID)
	if rerr != nil {
		s.o.Logger.ErrorContext(ctx, "hand-off replay: revoke the first use's grant", "handoff_id", rec.ID,
			"grant_id", rec.GrantID, "err", rerr)
	}
	s.sweepLater(func(ctx context.Context) {
		if err := s.revokeGrant(ctx, rec.GrantID); err != nil {
			s.o.Logger.ErrorContext(ctx, "hand-off replay: second revocation sweep failed", "handoff_id", rec.ID, "err", err)
		}
	})
	s.o.Logger.WarnContext(ctx, "hand-off code replayed: the first use's grant is revoked", "handoff_id", rec.ID,
		"representation_id", rec.RepresentationID, "grant_id", rec.GrantID)
	return &HandoffReplayError{HandoffID: rec.ID, RevokedGrant: rec.GrantID, RevokeErr: rerr}
}

// markHandoffRevoked sets Revoked and counts the replay on the tombstone (compare-and-swap loop).
func (s *Service) markHandoffRevoked(ctx context.Context, key string) error {
	for n := 0; n < repMaxCAS; n++ {
		if n > 0 {
			if err := repBackoff(ctx, n); err != nil {
				return err
			}
		}
		rec, raw, err := s.loadHandoff(ctx, key)
		if err != nil {
			return err
		}
		rec.Revoked, rec.Replays = true, rec.Replays+1
		next, err := encodeHandoff(rec)
		if err != nil {
			return err
		}
		switch err := s.kv.CompareAndSwap(ctx, key, raw, next, rec.ttl(s.o.Now())); {
		case err == nil:
			return nil
		case errors.Is(err, storage.ErrConflict):
			continue
		case errors.Is(err, storage.ErrNotFound):
			return ErrHandoffUnknown
		default:
			return fmt.Errorf("exchange: hand-off replay: %w", err)
		}
	}
	return fmt.Errorf("exchange: hand-off replay: too many concurrent changes: %w", storage.ErrConflict)
}

// revokeGrant revokes the access and refresh tokens of one grant (idempotent).
func (s *Service) revokeGrant(ctx context.Context, grantID string) error {
	if grantID == "" {
		return nil
	}
	var errs []error
	if err := s.o.Store.RevokeAccessToken(ctx, grantID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		errs = append(errs, err)
	}
	if err := s.o.Store.RevokeRefreshToken(ctx, grantID); err != nil && !errors.Is(err, storage.ErrNotFound) {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("exchange: revoke grant %s: %w", grantID, err)
	}
	return nil
}

// SettleHandoff implements [HandoffRedeemer].
func (s *Service) SettleHandoff(ctx context.Context, code HandoffCode, grantID string) error {
	rec, _, err := s.loadHandoff(ctx, code.key())
	switch {
	case errors.Is(err, ErrHandoffUnknown):
		return nil // past its grace: no replay can be recorded any more
	case err != nil:
		return err
	case !rec.Revoked || rec.GrantID != grantID:
		return nil
	}
	if err := s.revokeGrant(context.WithoutCancel(ctx), grantID); err != nil {
		return errors.Join(&HandoffReplayError{HandoffID: rec.ID, RevokedGrant: grantID, RevokeErr: err}, err)
	}
	return &HandoffReplayError{HandoffID: rec.ID, RevokedGrant: grantID}
}
