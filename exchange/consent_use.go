package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Use implements [Consents.Use]: a grant already used for an active representation of agent for
// target with this purpose (the exchange may join it), else the approved grant with this purpose
// that expires first, marked used by one compare-and-swap.
func (s *ConsentService) Use(ctx context.Context, agent, target, reason, ticket string) (ConsentGrant, error) {
	recs, err := s.list(ctx, kindConsentPair, consentPair(agent, target), func(r *AccessRequest) bool {
		return r.Agent == agent && r.Target == target
	})
	if err != nil {
		return ConsentGrant{}, err
	}
	now := s.o.Now()
	if s.o.Representations != nil {
		for _, r := range recs {
			if r.State != ConsentUsed || r.RepresentationID == "" || !r.matches(reason, ticket) || !now.Before(r.ExpiresAt) {
				continue
			}
			err := s.o.Representations.Active(ctx, r.RepresentationID)
			switch {
			case err == nil:
				return ConsentGrant{ID: r.ID, ExpiresAt: r.ExpiresAt, RepresentationID: r.RepresentationID}, nil
			case !errors.Is(err, ErrRepresentationEnded):
				return ConsentGrant{}, fmt.Errorf("exchange: consent: representation %s: %w", r.RepresentationID, err)
			}
		}
	}
	approved := slices.DeleteFunc(slices.Clone(recs), func(r *AccessRequest) bool {
		return r.State != ConsentApproved || !r.matches(reason, ticket)
	})
	slices.SortFunc(approved, func(a, b *AccessRequest) int { return a.ExpiresAt.Compare(b.ExpiresAt) })
	for _, c := range approved {
		r, err := s.update(ctx, c.ID, func(r *AccessRequest) error {
			now := s.o.Now().UTC().Truncate(time.Millisecond)
			if r.State != ConsentApproved || r.overdue(now) || !r.matches(reason, ticket) || r.Agent != agent || r.Target != target {
				return &ConsentStateError{ID: r.ID, State: r.State, Want: "use"}
			}
			r.State, r.UsedAt = ConsentUsed, now
			return nil
		})
		switch {
		case err == nil:
			return ConsentGrant{ID: r.ID, ExpiresAt: r.ExpiresAt}, nil
		case errors.Is(err, ErrConsentConflict), errors.Is(err, ErrConsentNotFound):
			continue // used, revoked or expired meanwhile: try the next
		}
		return ConsentGrant{}, err
	}
	miss := &ConsentMissingError{}
	for _, r := range recs {
		switch {
		case r.State == ConsentApproved:
			miss.Mismatch = true
		case r.State == ConsentPending && miss.Pending == "":
			miss.Pending = r.ID
		}
	}
	return ConsentGrant{}, miss
}

// Attach implements [Consents.Attach].
func (s *ConsentService) Attach(ctx context.Context, id, repID string) error {
	if repID == "" {
		return errors.New("exchange: consent: attach needs a representation id")
	}
	_, err := s.update(ctx, id, func(r *AccessRequest) error {
		switch {
		case r.State != ConsentUsed || (r.RepresentationID != "" && r.RepresentationID != repID):
			return &ConsentStateError{ID: r.ID, State: r.State, Want: "attach"}
		case r.RepresentationID == repID:
			return errConsentUnchanged
		}
		r.RepresentationID = repID
		return nil
	})
	if errors.Is(err, errConsentUnchanged) {
		return nil
	}
	return err
}

// Release implements [Consents.Release].
func (s *ConsentService) Release(ctx context.Context, id, repID string) error {
	_, err := s.update(ctx, id, func(r *AccessRequest) error {
		if r.State != ConsentUsed || (r.RepresentationID != "" && r.RepresentationID != repID) {
			return errConsentUnchanged
		}
		r.State, r.UsedAt, r.RepresentationID = ConsentApproved, time.Time{}, ""
		return nil
	})
	if errors.Is(err, errConsentUnchanged) || errors.Is(err, ErrConsentNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// Open again: Sweep must see it (it drops used requests from its index).
	return s.o.Store.AddToIndex(ctx, kindConsentOpen, consentOpenID, s.recordTTL(), id)
}
