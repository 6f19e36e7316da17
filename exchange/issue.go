package exchange

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/internal/warm"
	"github.com/actas-dev/actas/oauth"
)

// issue writes the RFC 8693 §2.2.1 response: access_token, issued_token_type, token_type,
// expires_in, scope (when it differs from the request) and, when allowed, refresh_token. A grant
// that belongs to a representation is recorded against it before any of its tokens exists.
func (h *Handler) issue(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder, st *state) error {
	s, ok := ar.GetSession().(*oauth.Session)
	if !ok {
		return fosite.ErrServerError.WithHint("Unexpected session type.")
	}
	// Under a representation the access token is signed while the grant is recorded (a storage
	// round trip): signing needs only the session, and a token whose grant is refused is dropped
	// unseen (it is neither stored nor returned). Otherwise it is signed in line.
	var (
		tok, sig string
		signErr  error
		signed   = make(chan struct{})
	)
	switch {
	case st.req.RequestedTokenType == TokenTypeIDToken:
		close(signed)
	case st.repID != "":
		warm.Go(func() {
			defer close(signed)
			tok, sig, signErr = h.deps.Strategy.GenerateAccessToken(ctx, ar)
		})
	default:
		tok, sig, signErr = h.deps.Strategy.GenerateAccessToken(ctx, ar)
		close(signed)
	}
	defer func() { <-signed }() // never leave the signer running past the request
	// A start that opened the session recorded the grant with it (StartRequest.GrantID).
	if st.repID != "" && !st.rep.GrantRecorded {
		if err := h.o.Representations.RecordGrant(ctx, st.repID, ar.GetID()); err != nil {
			if errors.Is(err, ErrRepresentationEnded) || errors.Is(err, ErrRepresentationsUnavailable) {
				return deny(CodeRepresentationEnded, "exchange", "The representation ended before the token could be issued.")
			}
			return storageFailure("record grant", err)
		}
		// A client that receives tokens under a representation it did not start (a join, a
		// re-exchange, a hand-off) must hear of its end through back-channel logout too.
		if rc, ok := h.o.Representations.(interface {
			RecordClient(context.Context, string, string) error
		}); ok && !st.started {
			if err := rc.RecordClient(ctx, st.repID, st.client.id); err != nil {
				if errors.Is(err, ErrRepresentationEnded) {
					return deny(CodeRepresentationEnded, "exchange", "The representation ended before the token could be issued.")
				}
				return storageFailure("record client", err)
			}
		}
	}
	now := h.o.Now()
	if st.req.RequestedTokenType == TokenTypeIDToken {
		tok, exp, err := h.idToken(ctx, ar, s, now)
		if err != nil {
			return err
		}
		resp.SetAccessToken(tok)
		resp.SetTokenType("N_A") // RFC 8693 §2.2.1: not an access token
		resp.SetExpiresIn(exp.Sub(now))
		if err := h.granted(ctx, st); err != nil {
			return err
		}
	} else {
		// The grant's audit event is recorded while the token is signed and stored; the answer
		// waits for both, and if either fails the tokens are revoked and the answer is an error
		// (the trail may then show a grant that was undone, never a grant that it does not show).
		recorded := make(chan error, 1)
		warm.Go(func() { recorded <- h.granted(ctx, st) })
		<-signed
		err := signErr
		if err != nil {
			err = fosite.ErrServerError.WithWrap(signErr).WithHint("The access token could not be signed.")
		} else {
			st.stored = true // from here on a failure revokes the grant (idempotent when nothing is stored)
			err = h.storeTokens(ctx, ar, resp, s, tok, sig, now, st.refresh)
		}
		if aerr := <-recorded; err == nil {
			err = aerr
		}
		if err != nil {
			return err
		}
	}
	resp.SetExtra("issued_token_type", st.req.RequestedTokenType)
	if granted := ar.GetGrantedScopes(); !sameSet(granted, st.req.Scope) {
		resp.SetScopes(granted)
	}
	return nil
}

// storeTokens stores the signed access token and, when wanted, a refresh token, and puts them in
// the response.
func (h *Handler) storeTokens(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder, s *oauth.Session, tok, sig string, now time.Time, refresh bool) error {
	if err := h.deps.Storage.CreateAccessTokenSession(ctx, sig, ar.Sanitize(nil)); err != nil {
		return storageFailure("store access token", err)
	}
	resp.SetAccessToken(tok)
	resp.SetTokenType("Bearer")
	resp.SetExpiresIn(s.GetExpiresAt(fosite.AccessToken).Sub(now))
	if refresh {
		rt, rsig, err := h.deps.Strategy.GenerateRefreshToken(ctx, ar)
		if err != nil {
			return fosite.ErrServerError.WithWrap(err).WithHint("The refresh token could not be made.")
		}
		if err := h.deps.Storage.CreateRefreshTokenSession(ctx, rsig, sig, ar.Sanitize(nil)); err != nil {
			return storageFailure("store refresh token", err)
		}
		resp.SetExtra("refresh_token", rt)
	}
	return nil
}

// idToken signs an ID token for the session (requested_token_type id_token): `act` and `sid`
// included, audience the requested audiences and resources or else the calling client (never a
// default audience meant for access tokens), azp the calling client.
func (h *Handler) idToken(ctx context.Context, ar fosite.AccessRequester, s *oauth.Session, now time.Time) (string, time.Time, error) {
	exp := s.GetExpiresAt(fosite.IDToken)
	aud := []string(ar.GetRequestedAudience())
	if len(aud) == 0 {
		aud = []string{ar.GetClient().GetID()}
	}
	claims := jwt.MapClaims{
		"iss": h.issuer,
		"sub": s.GetSubject(),
		"aud": aud,
		"azp": ar.GetClient().GetID(),
		"iat": now.Unix(),
		"exp": exp.Unix(),
		"jti": uuid.NewString(),
	}
	c := s.IDTokenClaims()
	if !c.AuthTime.IsZero() {
		claims["auth_time"] = c.AuthTime.Unix()
	}
	if len(s.AMR) > 0 {
		claims["amr"] = s.AMR
	}
	if s.ACR != "" {
		claims["acr"] = s.ACR
	}
	if s.Act != nil {
		claims["act"] = s.Act.Map()
	}
	if s.SID != "" {
		claims["sid"] = s.SID
	}
	for k, v := range s.Extra {
		if _, taken := claims[k]; !taken {
			claims[k] = v
		}
	}
	tok, _, err := h.deps.Strategy.Signer.Generate(ctx, claims, &jwt.Headers{})
	if err != nil {
		return "", time.Time{}, fosite.ErrServerError.WithWrap(err).WithHint("The ID token could not be signed.")
	}
	return tok, exp, nil
}

// sameSet reports whether a and b hold the same strings.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
