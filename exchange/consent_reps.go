package exchange

import (
	"context"
	"errors"
)

// ConsentReps adapts the representation service to what the consent workflow needs: cmd passes
// ConsentReps(svc) as ConsentOptions.Representations.
func ConsentReps(s *Service) ConsentRepresentations { return serviceConsentReps{s} }

type serviceConsentReps struct{ s *Service }

var _ ConsentRepresentations = serviceConsentReps{}

// maxAccountPageReps bounds the representations listed on the account page.
const maxAccountPageReps = 50

func (c serviceConsentReps) Active(ctx context.Context, id string) error { return c.s.Active(ctx, id) }

// Stop ends the session (idempotent in the service); an unknown one has nothing left to end.
func (c serviceConsentReps) Stop(ctx context.Context, id, by, reason string) error {
	_, _, err := c.s.Stop(ctx, id, by, reason)
	if errors.Is(err, ErrRepresentationNotFound) {
		return nil
	}
	return err
}

func (c serviceConsentReps) ActiveForTarget(ctx context.Context, target string) ([]RepresentationSummary, error) {
	active := true
	recs, _, err := c.s.List(ctx, RepFilter{Target: target, Active: &active, Limit: maxAccountPageReps})
	if err != nil {
		return nil, err
	}
	out := make([]RepresentationSummary, 0, len(recs))
	for _, r := range recs {
		if r.Target != target {
			continue
		}
		out = append(out, RepresentationSummary{ID: r.ID, Actor: r.Actor, Target: r.Target, ClientID: r.ClientID,
			Reason: r.Reason, Ticket: r.Ticket, ConsentID: r.ConsentID, StartedAt: r.StartedAt, ExpiresAt: r.ExpiresAt})
	}
	return out, nil
}
