package exchange

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// exchangeToken is downscoping (subject token alone) and delegation (subject and actor tokens).
func (h *Handler) exchangeToken(ctx context.Context, ar fosite.AccessRequester, st *state) error {
	req, c := st.req, st.client
	subj, err := h.verifyToken(ctx, c, req.SubjectTokenType, req.SubjectToken, roleSubject)
	if err != nil {
		return err
	}
	if err := h.checkSubjectOwner(c, subj); err != nil {
		return err
	}
	st.ev.Target = subj.subject
	if subj.sid != "" {
		if err := h.checkRepresentation(ctx, subj.sid); err != nil {
			return err
		}
		st.repID, st.ev.RepresentationID = subj.sid, subj.sid
	}
	act := subj.act
	notAfter := earliest(subj.expiresAt, subj.notAfter)
	if req.ActorToken != "" {
		actor, err := h.verifyToken(ctx, c, req.ActorTokenType, req.ActorToken, roleActor)
		if err != nil {
			return err
		}
		if err := h.checkActorAudience(c, actor); err != nil {
			return err
		}
		st.ev.Actor, st.ev.ActorIssuer = actor.subject, foreignIssuer(actor, h.issuer)
		if actor.act != nil || actor.sid != "" {
			return badRequest("The actor token is itself a delegation or impersonation token; an actor token must be the acting party's own token.")
		}
		if subj.mayAct != nil && !subj.mayAct.Allows(actor.subject, actor.issuer) {
			return badRequest("The actor is not the party that the subject token's may_act claim allows to act (RFC 8693 §4.4).")
		}
		act = nestAct(actor.subject, actor.issuer, h.issuer, subj.act)
		// The actor's authority ends with its token: a delegated grant never outlives either token.
		notAfter = earliest(notAfter, actor.expiresAt)
	}
	if d := act.Depth(); d > h.o.MaxActDepth {
		return badRequest("The delegation chain would have %d actors; at most %d are allowed.", d, h.o.MaxActDepth)
	}
	st.refresh = h.refreshWanted(req, c)
	scopes, err := grantScopes(req.Scope, subj.scopes, c.scopes, st.refresh)
	if err != nil {
		return err
	}
	auds, err := grantAudience(req, c, subj.audience)
	if err != nil {
		return err
	}
	spec := grantSpec{
		sub: subj.subject, act: act, sid: subj.sid, extra: maps.Clone(subj.extra),
		notAfter: notAfter,
		authTime: subj.authTime, amr: subj.amr, acr: subj.acr,
		scopes: scopes, audience: auds, accessTTL: h.accessLifespan(c), subIssuer: subj.subjectIssuer,
	}
	if !subj.local {
		// A trusted issuer's other claims are not carried over, but its may_act is: a re-issued
		// token must not free the subject from the actor it named (RFC 8693 §4.4).
		spec.extra = nil
		if m := subj.mayAct; m != nil {
			claim := map[string]any{"sub": m.Subject}
			if m.Issuer != "" {
				claim["iss"] = m.Issuer
			}
			spec.extra = map[string]any{claimMayAct: claim}
		}
	}
	return h.bindSession(ar, st, spec)
}

// checkRepresentation refuses a token of a representation that has ended.
func (h *Handler) checkRepresentation(ctx context.Context, sid string) error {
	err := h.o.Representations.Active(ctx, sid)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrUnavailable):
		return storageFailure("check representation", err)
	case errors.Is(err, ErrRepresentationEnded), errors.Is(err, ErrRepresentationsUnavailable):
		return deny(CodeRepresentationEnded, "exchange", "The subject token was issued under a representation that has ended.")
	}
	return storageFailure("check representation", err)
}

func foreignIssuer(t *token, ours string) string {
	if t.issuer == ours {
		return ""
	}
	return t.issuer
}

// refreshWanted: a refresh token is issued only when offline_access is requested explicitly, the
// client may use the refresh_token grant, and the issued token is an access token.
func (h *Handler) refreshWanted(req *Request, c *client) bool {
	return req.HasScope(ScopeOfflineAccess) && c.may("refresh_token") && req.RequestedTokenType != TokenTypeIDToken
}

// grantScopes applies "scopes never widen": each requested scope must be the client's and the
// subject token's (available: a token without scopes, such as a trusted issuer's token with no
// scope claim, grants none); without a request, the subject's scopes that the client may hold.
// offline_access is granted only when a refresh token will be issued; impersonation never.
func grantScopes(requested, available, clientScopes []string, refresh bool) ([]string, error) {
	var out []string
	if len(requested) == 0 {
		for _, s := range available {
			if slices.Contains(clientScopes, s) && s != ScopeOfflineAccess && s != ScopeImpersonation {
				out = append(out, s)
			}
		}
		return out, nil
	}
	for _, s := range requested {
		switch {
		case s == ScopeImpersonation:
			continue
		case !slices.Contains(clientScopes, s):
			return nil, fosite.ErrInvalidScope.WithHintf("The client is not allowed to request the scope '%s'.", clip(s))
		case !slices.Contains(available, s):
			return nil, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to the subject token; an exchange never widens scopes.", clip(s))
		case s == ScopeOfflineAccess && !refresh:
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// grantAudience checks each requested audience and resource against the client's allowed
// audiences (invalid_target otherwise). Without a request, the default audience is kept where the
// client is allowed it (an empty result means the provider's default, actas itself).
func grantAudience(req *Request, c *client, def []string) ([]string, error) {
	targets := req.Targets()
	if len(targets) == 0 {
		var out []string
		for _, a := range def {
			if slices.Contains(c.audience, a) {
				out = append(out, a)
			}
		}
		return out, nil
	}
	for _, t := range targets {
		if !slices.Contains(c.audience, t) {
			return nil, ErrInvalidTarget.WithHintf("The client may not obtain tokens for '%s'.", clip(t))
		}
	}
	return targets, nil
}

// grantSpec is everything the issued token's session is made of.
type grantSpec struct {
	sub      string
	act      *oauth.Actor
	sid      string
	extra    map[string]any
	notAfter time.Time // hard bound of every token of the grant; zero: none
	authTime time.Time
	amr      []string
	acr      string
	// idAuthTime is the auth_time of ID tokens when it differs from authTime (impersonation: the
	// actor's authentication, since the target did not authenticate).
	idAuthTime time.Time
	scopes     []string
	audience   []string
	accessTTL  time.Duration
	// subIssuer is the subject's issuer when it is not actas (oauth.Session.SubjectIssuer).
	subIssuer string
}

// bindSession builds the session of the token to issue and binds it to the request. It is the one
// place where the issued token's `sub` (and `act`) is written.
func (h *Handler) bindSession(ar fosite.AccessRequester, st *state, g grantSpec) error {
	now := st.now
	if !g.notAfter.IsZero() && !g.notAfter.After(now.Add(time.Second)) {
		return badRequest("The subject token expires now; nothing can be issued from it.")
	}
	s := h.deps.NewSession(g.sub)
	s.ClientID = st.client.id
	s.Act, s.SID, s.Extra, s.NotAfter, s.SubjectIssuer = g.act, g.sid, g.extra, g.notAfter, g.subIssuer
	s.AuthTime, s.AMR, s.ACR = g.authTime, slices.Clone(g.amr), g.acr
	s.AccessTokenTTL = g.accessTTL // refreshes keep the same cap (the policy's, for impersonation)

	// ID tokens issued later from this grant (the OIDC refresh handler) carry act and sid too.
	c := s.IDTokenClaims()
	c.Extra = map[string]any{}
	if g.act != nil {
		c.Extra["act"] = g.act.Map()
	}
	if g.sid != "" {
		c.Extra["sid"] = g.sid
	}
	c.AuthTime = g.authTime
	if !g.idAuthTime.IsZero() {
		c.AuthTime = g.idAuthTime
	}
	c.AuthenticationMethodsReferences, c.AuthenticationContextClassReference = s.AMR, g.acr
	c.RequestedAt = now

	s.SetExpiresAt(fosite.AccessToken, bound(now.Add(g.accessTTL), g.notAfter))
	s.SetExpiresAt(fosite.IDToken, bound(now.Add(fosite.GetEffectiveLifespan(st.client.fc, GrantType, fosite.IDToken, h.o.IDTokenLifespan)), g.notAfter))
	if st.refresh {
		rt := fosite.GetEffectiveLifespan(st.client.fc, GrantType, fosite.RefreshToken, h.o.RefreshTokenLifespan)
		exp := g.notAfter
		if rt > 0 {
			exp = bound(now.Add(rt), g.notAfter)
		}
		s.SetExpiresAt(fosite.RefreshToken, exp)
	}
	ar.SetSession(s)
	for _, sc := range g.scopes {
		ar.GrantScope(sc)
	}
	ar.SetRequestedAudience(st.req.Targets())
	for _, a := range g.audience {
		ar.GrantAudience(a)
	}
	st.ev.Target = g.sub
	st.ev.Scopes, st.ev.Audiences = g.scopes, g.audience
	return nil
}

func (h *Handler) accessLifespan(c *client) time.Duration {
	return fosite.GetEffectiveLifespan(c.fc, GrantType, fosite.AccessToken, h.o.AccessTokenLifespan)
}

// bound returns t capped at limit (zero limit: no cap), in whole seconds as JWTs carry them.
func bound(t, limit time.Time) time.Time {
	if !limit.IsZero() && t.After(limit) {
		t = limit
	}
	return t.UTC().Truncate(time.Second)
}

// earliest returns the earlier of two times, ignoring zero ones.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}
