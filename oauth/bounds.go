package oauth

import (
	"context"
	"time"

	"github.com/ory/fosite"
)

// refreshBounds runs after fosite's refresh handlers (which set new expiries to now + lifespan
// and keep the grant's request id) and pulls the expiries back to the session's NotAfter, so a
// refreshed exchanged token never outlives its subject token or representation. It also asks the
// guard whether a delegated or impersonated grant may still be refreshed.
type refreshBounds struct {
	guard      func(ctx context.Context, s *Session) error
	idLifespan time.Duration
	now        func() time.Time
}

var _ fosite.TokenEndpointHandler = (*refreshBounds)(nil)

func (h *refreshBounds) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return r.GetGrantTypes().ExactOne("refresh_token")
}

func (h *refreshBounds) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (h *refreshBounds) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	s, ok := r.GetSession().(*Session)
	if !ok {
		return fosite.ErrServerError.WithHint("Unexpected session type.")
	}
	now := time.Now()
	if h.now != nil {
		now = h.now()
	}
	if !s.NotAfter.IsZero() {
		if !now.Before(s.NotAfter) {
			return fosite.ErrInvalidGrant.WithHint("The grant has reached the end of its subject token's or representation's lifetime.")
		}
		for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.IDToken} {
			if exp := s.GetExpiresAt(tt); exp.IsZero() || exp.After(s.NotAfter) {
				s.SetExpiresAt(tt, s.NotAfter)
			}
		}
		// A refreshed ID token must not outlive the grant either.
		if c := s.IDTokenClaims(); c != nil {
			exp := now.Add(h.idLifespan).UTC().Truncate(time.Second)
			if h.idLifespan <= 0 || exp.After(s.NotAfter) {
				exp = s.NotAfter
			}
			c.ExpiresAt = exp
		}
	}
	if s.AccessTokenTTL > 0 {
		if limit := now.Add(s.AccessTokenTTL).UTC().Truncate(time.Second); s.GetExpiresAt(fosite.AccessToken).After(limit) {
			s.SetExpiresAt(fosite.AccessToken, limit)
		}
	}
	if h.guard != nil && s.SID != "" {
		if err := h.guard(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

func (h *refreshBounds) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}
