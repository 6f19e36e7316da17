package oauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// refreshBounds runs after fosite's refresh handlers (which set new expiries to now + lifespan
// and keep the grant's request id) and pulls the expiries back to the session's NotAfter, so a
// refreshed exchanged token never outlives its subject token or representation. It also asks the
// guard whether a delegated or impersonated grant may still be refreshed, and refuses the grant of
// a user who has been removed or disabled.
type refreshBounds struct {
	guard      func(ctx context.Context, s *Session) error
	users      userGetter // nil: the subject is not checked
	idLifespan time.Duration
	now        func() time.Time
}

// userGetter reads user and client records (*storage.Store).
type userGetter interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	GetClient(ctx context.Context, id string) (fosite.Client, error)
}

// errInactiveUser: the grant's subject is no longer a user of this server, or is disabled.
var errInactiveUser = errors.New("oauth: the grant's user is no longer active")

// checkActiveUser reports, for a grant of a user of this server (its subject is neither a client,
// as in client credentials, nor a trusted issuer's subject), whether that user still exists and
// is not disabled: errInactiveUser when not, the storage error when it cannot tell.
func checkActiveUser(ctx context.Context, users userGetter, r fosite.Requester, s *Session) error {
	sub := s.GetSubject()
	if users == nil || sub == "" || s.SubjectIssuer != "" || (r.GetClient() != nil && sub == r.GetClient().GetID()) {
		return nil
	}
	u, err := users.GetUser(ctx, sub)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// A client's own subject (a client-credentials token that another client exchanged) is
		// not a user either.
		if _, cerr := users.GetClient(ctx, sub); cerr == nil {
			return nil
		} else if !errors.Is(cerr, storage.ErrNotFound) && !errors.Is(cerr, fosite.ErrNotFound) {
			return fmt.Errorf("oauth: read the grant's subject: %w", cerr)
		}
		return errInactiveUser
	case err != nil:
		return fmt.Errorf("oauth: read the grant's user: %w", err)
	case u == nil || u.Disabled:
		return errInactiveUser
	}
	return nil
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
	switch err := checkActiveUser(ctx, h.users, r, s); {
	case errors.Is(err, errInactiveUser):
		return fosite.ErrInvalidGrant.WithHint("The user of this grant no longer exists or has been disabled.")
	case err != nil:
		return fosite.ErrServerError.WithWrap(err).WithHint("The grant's user could not be read.")
	}
	return nil
}

func (h *refreshBounds) PopulateTokenEndpointResponse(context.Context, fosite.AccessRequester, fosite.AccessResponder) error {
	return fosite.ErrUnknownRequest
}
