package exchange

import (
	"context"
	"errors"
	"slices"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// redeemHandoff is the fourth form: subject_token_type [TokenTypeHandoffCode], by the client the
// code was issued for — typically a public client, which authenticates with its client_id alone:
// the code, single use, short-lived and bound to that client, is the credential.
//
// Order: the request's shape (no actor token, no purpose, an access token asked for) → the code's
// shape (before any storage lookup) → the redemption (single use, client, expiry, representation
// active; see [Service.RedeemHandoff]) → scopes and audiences never beyond the representation's →
// the session bound with `sub` = the represented user, `act` = the agent, `sid` = the
// representation. The grant is recorded against the representation by issue, before any token
// exists; [HandoffRedeemer.SettleHandoff] runs once the tokens are stored.
//
// Scopes: those requested (default: the representation's that the client may hold, without
// offline_access), each of which must be the client's (invalid_scope) and the representation's
// (invalid_scope: an exchange never widens). A refresh token is issued only when offline_access is
// requested, the client may use the refresh_token grant, and the representation's scopes include
// offline_access (the agent's exchange was granted one); otherwise offline_access is dropped
// without error. Audiences and resources must be the client's and the representation's.
func (h *Handler) redeemHandoff(ctx context.Context, ar fosite.AccessRequester, st *state) error {
	req, c := st.req, st.client
	switch {
	case req.ActorToken != "":
		return badRequest("A hand-off code is redeemed alone: send no actor token.")
	case req.Reason != "" || req.Ticket != "":
		return badRequest("The parameters 'reason' and 'ticket' are only for impersonation; a hand-off carries the representation's own.")
	case req.HasScope(ScopeImpersonation):
		return badRequest("The scope '%s' is not for a hand-off: the representation already exists.", ScopeImpersonation)
	case req.RequestedTokenType != TokenTypeAccessToken:
		return badRequest("A hand-off code is exchanged for an access token only (requested_token_type '%s').", TokenTypeAccessToken)
	}
	red, ok := h.o.Representations.(HandoffRedeemer)
	if !ok {
		return deny(CodeHandoffsUnavailable, handoffRule, "Hand-offs are not available on this server.")
	}
	code, err := ParseHandoffCode(req.SubjectToken)
	if err != nil {
		return deny(CodeHandoffInvalid, handoffRule, "The subject token is not a hand-off code of this server.")
	}
	// Scopes and audiences are checked before the code is marked used: a refused request leaves
	// it usable for a corrected one.
	var scopes []string
	var refusal error
	g, err := red.RedeemHandoff(ctx, code, c.id, ar.GetID(), func(g HandoffGrant) error {
		st.refresh = h.refreshWanted(req, c) && slices.Contains(g.Scopes, ScopeOfflineAccess)
		if scopes, refusal = handoffScopes(req.Scope, g.Scopes, c.scopes, st.refresh); refusal != nil {
			return refusal
		}
		for _, t := range req.Targets() {
			if !slices.Contains(c.audience, t) || (t != h.issuer && !slices.Contains(g.Audiences, t)) {
				refusal = ErrInvalidTarget.WithHintf("The token may not be meant for '%s': a hand-off stays within the client's audiences and the representation's.", clip(t))
				return refusal
			}
		}
		return nil
	})
	st.ev.Actor, st.ev.ActorIssuer, st.ev.Target, st.ev.RepresentationID = g.Actor, g.ActorIssuer, g.Target, g.RepresentationID
	if g.HandoffID != "" {
		st.ev.Detail = map[string]string{handoffDetailID: g.HandoffID}
	}
	switch {
	case refusal != nil && err == refusal:
		return refusal
	case err != nil:
		return handoffError(err, st)
	}
	st.handoff, st.repID = &code, g.RepresentationID
	extra := map[string]any{}
	if g.Reason != "" {
		extra[ClaimReason] = g.Reason
	}
	if g.Ticket != "" {
		extra[ClaimTicket] = g.Ticket
	}
	if g.ConsentID != "" {
		extra[ClaimConsentID] = g.ConsentID
	}
	spec := grantSpec{
		sub: g.Target, act: &oauth.Actor{Subject: g.Actor, Issuer: g.ActorIssuer}, sid: g.RepresentationID,
		extra: extra, notAfter: g.ExpiresAt, scopes: scopes, audience: req.Targets(), accessTTL: h.accessLifespan(c),
	}
	if g.AccessTokenTTL > 0 {
		spec.accessTTL = min(spec.accessTTL, g.AccessTokenTTL)
	}
	return h.bindSession(ar, st, spec)
}

// handoffScopes applies the scope rule of redeemHandoff.
func handoffScopes(requested, repScopes, clientScopes []string, refresh bool) ([]string, error) {
	var out []string
	if len(requested) == 0 {
		for _, s := range repScopes {
			if slices.Contains(clientScopes, s) && s != ScopeOfflineAccess && s != ScopeImpersonation {
				out = append(out, s)
			}
		}
		return out, nil
	}
	for _, s := range requested {
		switch {
		case s == ScopeOfflineAccess:
			if refresh {
				out = append(out, s)
			}
		case !slices.Contains(clientScopes, s):
			return nil, fosite.ErrInvalidScope.WithHintf("The client is not allowed to request the scope '%s'.", clip(s))
		case !slices.Contains(repScopes, s):
			return nil, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to the representation; a hand-off never widens it.", clip(s))
		default:
			out = append(out, s)
		}
	}
	return out, nil
}

// handoffError maps a failed redemption to its refusal (RFC 8693 §2.2.2: invalid_request for an
// unacceptable subject token), with the reason code.
func handoffError(err error, st *state) error {
	var replay *HandoffReplayError
	switch {
	case errors.As(err, &replay):
		st.quiet = replay.Repeat
		if st.ev.Detail == nil {
			st.ev.Detail = map[string]string{}
		}
		st.ev.Detail[handoffDetailRevokedGrant] = replay.RevokedGrant
		if replay.RevokeErr != nil {
			st.ev.Detail[handoffDetailRevokeFailure] = "failed; retried by a later sweep"
		}
		return deny(CodeHandoffReplayed, handoffRule, "The hand-off code has already been used; the tokens issued by its first use have been revoked.")
	case errors.Is(err, ErrHandoffReplayed):
		return deny(CodeHandoffReplayed, handoffRule, "The hand-off code has already been used; the tokens issued by its first use have been revoked.")
	case errors.Is(err, ErrHandoffUnknown), errors.Is(err, ErrHandoffMalformed):
		return deny(CodeHandoffInvalid, handoffRule, "The hand-off code is unknown: it was never issued, or it expired.")
	case errors.Is(err, ErrHandoffExpired):
		return deny(CodeHandoffExpired, handoffRule, "The hand-off code has expired; ask the agent for a new one.")
	case errors.Is(err, ErrHandoffWrongClient):
		return deny(CodeHandoffWrongClient, handoffRule, "The hand-off code was issued for another client.")
	case errors.Is(err, ErrRepresentationEnded):
		return deny(CodeRepresentationEnded, handoffRule, "The representation this hand-off belongs to has ended.")
	case errors.Is(err, storage.ErrUnavailable):
		return storageFailure("redeem hand-off", err)
	}
	return storageFailure("redeem hand-off", err)
}

// settleHandoff runs after the redemption's tokens are stored and its audit event recorded: a
// replay that came before the tokens existed is honoured now (see SettleHandoff). The response
// stands — exactly one redemption succeeds — but its tokens are then revoked.
func (h *Handler) settleHandoff(ctx context.Context, ar fosite.AccessRequester, st *state) {
	if st.handoff == nil {
		return
	}
	red, ok := h.o.Representations.(HandoffRedeemer)
	if !ok {
		return
	}
	err := red.SettleHandoff(context.WithoutCancel(ctx), *st.handoff, ar.GetID())
	switch {
	case err == nil:
	case errors.Is(err, ErrHandoffReplayed):
		h.o.Logger.WarnContext(ctx, "hand-off replayed while it was redeemed: its tokens are revoked", "grant_id", ar.GetID(),
			"representation_id", st.repID)
	default:
		h.o.Logger.ErrorContext(ctx, "hand-off: settle", "grant_id", ar.GetID(), "err", err)
	}
}
