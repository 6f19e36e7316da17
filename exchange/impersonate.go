package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/internal/warm"
	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// Claims that an impersonation token carries besides sub, act and sid. They are top-level
// claims (RFC 8693 §4.1 reserves act for the actor's identity).
const (
	// ClaimReason is the purpose given by the agent (policy.ClaimReason).
	ClaimReason = policy.ClaimReason
	// ClaimTicket is the support ticket reference (policy.ClaimTicket).
	ClaimTicket = policy.ClaimTicket
	// ClaimConsentID names the target's approval when the policy required one.
	ClaimConsentID = "impersonation_consent_id"
)

// maxUserIDLen bounds the user id of an impersonation subject.
const maxUserIDLen = 256

// impersonate is the third form: subject_token_type user_id + the agent's actor token + the scope
// impersonation. Order (DESIGN "a request's way"): actor verified → target resolved → policy →
// consent → representation started (lock + session, atomically, by the service) → session bound.
func (h *Handler) impersonate(ctx context.Context, ar fosite.AccessRequester, st *state) error {
	req, c := st.req, st.client
	switch {
	case req.ActorToken == "":
		return badRequest("Impersonation needs an actor token: the agent's own token.")
	case !req.HasScope(ScopeImpersonation):
		return badRequest("A subject of type '%s' is only accepted for impersonation: request the scope '%s'.", TokenTypeUserID, ScopeImpersonation)
	case !slices.Contains(c.scopes, ScopeImpersonation):
		return fosite.ErrInvalidScope.WithHintf("The client is not allowed to request the scope '%s'.", ScopeImpersonation)
	case len(req.SubjectToken) > maxUserIDLen || strings.IndexFunc(req.SubjectToken, func(r rune) bool { return !unicode.IsPrint(r) || r == ' ' }) >= 0:
		return badRequest("The subject token is not a valid user id.")
	case h.o.SecretText != nil && (h.o.SecretText(req.Reason) || h.o.SecretText(req.Ticket)):
		return badRequest("The reason or the ticket holds what looks like a credential (a token or a key); they are kept in the audit trail, so describe the purpose in words.")
	}
	st.ev.Target = req.SubjectToken // the id asked for (shape checked above): a refusal names it too
	pre := h.prefetch(ctx, req.ActorTokenType, req.ActorToken, req.SubjectToken)
	actor, err := h.verifyToken(ctx, c, req.ActorTokenType, req.ActorToken, roleActor)
	if err != nil {
		return err
	}
	if err := h.checkActorAudience(c, actor); err != nil {
		return err
	}
	st.ev.Actor, st.ev.ActorIssuer = actor.subject, foreignIssuer(actor, h.issuer)
	st.ev.Reason, st.ev.Ticket = req.Reason, req.Ticket
	in, err := h.policyInput(ctx, st, actor, pre)
	if err != nil {
		return err
	}
	st.ev.Target = in.Target.ID
	st.refresh = h.refreshWanted(req, c)

	d := h.o.Decider.Decide(ctx, in)
	st.ev.Rule, st.ev.ReasonCode = d.Rule, string(d.Code)
	if !d.Allowed {
		return denyPolicy(d)
	}
	st.ev.Rule, st.ev.ReasonCode = "", ""
	if in.ActorTokenHasAct || in.ActorIsRepresented {
		// Defence in depth: the policy must have denied this already.
		return deny(string(policy.CodeNestedImpersonation), policy.RuleNested, "An impersonation or delegation token cannot be the actor of an impersonation.")
	}
	var consent ConsentGrant
	if d.ConsentRequired {
		if consent, err = h.useConsent(ctx, st, actor.subject, in.Target.ID); err != nil {
			return err
		}
		st.ev.ConsentID = consent.ID
	}
	st.ev.BreakGlass = d.Obligations.BreakGlass
	scopes := impersonationScopes(d.Obligations.Scopes, in.RequestedScopes, st.refresh)
	// A refresh token only when offline_access survived the policy: one without it could not be used.
	st.refresh = st.refresh && slices.Contains(scopes, ScopeOfflineAccess)

	rep, err := h.o.Representations.Start(ctx, StartRequest{
		Actor: actor.subject, ActorIssuer: st.ev.ActorIssuer, Target: in.Target.ID, ClientID: c.id,
		Reason: req.Reason, Ticket: req.Ticket, ConsentID: consent.ID,
		TTL:    consentSessionTTL(d.Obligations.SessionTTL, consent, st.now),
		Scopes: scopes, Audiences: in.Audiences, BreakGlass: d.Obligations.BreakGlass, RequestID: st.ev.RequestID,
		GrantID:    ar.GetID(), // recorded with the session: the grant needs no RecordGrant then
		AuditLater: true,       // recorded while the exchange goes on (Representation.audited)
	})
	if err != nil {
		h.releaseConsent(ctx, consent, "")
		return startError(err)
	}
	st.rep, st.repID, st.started, st.ev.RepresentationID, st.ev.Joined = rep, rep.ID, !rep.Joined, rep.ID, rep.Joined
	if rep.ID == "" || !rep.ExpiresAt.After(st.now) {
		h.abort(ctx, st)
		h.releaseConsent(ctx, consent, rep.ID)
		return fosite.ErrServerError.WithHint("The representation service returned an invalid session.")
	}
	if err := h.bindConsent(ctx, consent, rep); err != nil {
		h.abort(ctx, st)
		h.releaseConsent(ctx, consent, rep.ID)
		return err
	}
	st.consent = consent // from here on, abort gives the consent back
	extra := map[string]any{}
	if req.Reason != "" {
		extra[ClaimReason] = req.Reason
	}
	if req.Ticket != "" {
		extra[ClaimTicket] = req.Ticket
	}
	if consent.ID != "" {
		extra[ClaimConsentID] = consent.ID
	}
	spec := grantSpec{
		sub: in.Target.ID, act: nestAct(actor.subject, actor.issuer, h.issuer, nil), sid: rep.ID,
		extra: extra, notAfter: rep.ExpiresAt, idAuthTime: actor.authTime,
		scopes: scopes, audience: req.Targets(), accessTTL: d.Obligations.AccessTokenTTL,
	}
	if spec.accessTTL <= 0 {
		spec.accessTTL = h.accessLifespan(c)
	}
	if err := h.bindSession(ar, st, spec); err != nil {
		h.abort(ctx, st)
		h.releaseConsent(ctx, consent, rep.ID)
		return err
	}
	return nil
}

// policyReads are the storage reads of the policy input: the actor's user (an actas actor), the
// target's, and whether the actor is being represented. They are independent: they go to
// storage together.
type policyReads struct {
	actor, target    string
	local            bool
	wg               sync.WaitGroup
	au, t            *storage.User
	aerr, terr, rerr error
	represented      bool
}

// startReads starts the reads for the actor sub (its user only when local) and the target; with
// inline the target is read on the calling goroutine, so the reads are done when it returns.
func (h *Handler) startReads(ctx context.Context, sub string, local bool, target string, inline bool) *policyReads {
	r := &policyReads{actor: sub, target: target, local: local}
	if local {
		r.wg.Add(1)
		warm.Go(func() {
			defer r.wg.Done()
			r.au, r.aerr = h.user(ctx, sub, "The actor token's subject is not a user of this server.")
		})
	}
	r.wg.Add(1)
	warm.Go(func() { defer r.wg.Done(); r.represented, r.rerr = h.o.Representations.IsRepresented(ctx, sub) })
	readTarget := func() { r.t, r.terr = h.user(ctx, target, "The user named by the subject token does not exist.") }
	if inline {
		readTarget()
	} else {
		r.wg.Add(1)
		warm.Go(func() { defer r.wg.Done(); readTarget() })
	}
	return r
}

// prefetch starts the policy input's reads while the actor token's record is read: for an actas
// access token whose signature checks (the key set's cached verification), the reads go out with
// the subject it names. policyInput uses them only if the verified token has that subject; a
// token that fails verification leaves them unused. Anything else returns nil.
func (h *Handler) prefetch(ctx context.Context, typ, raw, target string) *policyReads {
	if typ != TokenTypeAccessToken && typ != TokenTypeJWT {
		return nil
	}
	p, ok := peekJWT(raw)
	if !ok || p.iss != h.issuer || normType(p.typ) != "at+jwt" {
		return nil
	}
	tok, err := h.deps.Strategy.Signer.Decode(ctx, raw)
	if err != nil || tok == nil {
		return nil
	}
	sub, _ := tok.Claims["sub"].(string)
	if sub == "" {
		return nil
	}
	return h.startReads(ctx, sub, true, target, false)
}

// policyInput resolves the actor and the target to users and builds the policy input. Requested
// scopes and audiences are checked against the client first (invalid_scope, invalid_target).
// pre, when it read for this actor and target, saves the reads.
func (h *Handler) policyInput(ctx context.Context, st *state, actor *token, pre *policyReads) (policy.Input, error) {
	req, c := st.req, st.client
	in := policy.Input{
		Now:      st.now,
		ClientID: c.id,
		Reason:   req.Reason, Ticket: req.Ticket,
		SourceIP:         ClientIP(ctx),
		ActorTokenHasAct: actor.act != nil || actor.sid != "",
		Actor: policy.Subject{ID: actor.subject, Roles: actor.roles, Tenant: actor.tenant,
			AMR: actor.amr, ACR: actor.acr, AuthTime: actor.authTime},
	}
	for _, s := range req.Scope {
		if s == ScopeImpersonation {
			continue
		}
		if !slices.Contains(c.scopes, s) {
			return in, fosite.ErrInvalidScope.WithHintf("The client is not allowed to request the scope '%s'.", clip(s))
		}
		in.RequestedScopes = append(in.RequestedScopes, s)
	}
	in.Audiences = req.Targets()
	for _, a := range in.Audiences {
		if !slices.Contains(c.audience, a) {
			return in, ErrInvalidTarget.WithHintf("The client may not obtain tokens for '%s'.", clip(a))
		}
	}
	if len(in.Audiences) == 0 {
		in.Audiences = []string{h.issuer} // the token's default audience (RFC 9068 requires aud)
	}
	r := pre
	if r == nil || r.actor != actor.subject || r.local != actor.local || r.target != req.SubjectToken {
		r = h.startReads(ctx, actor.subject, actor.local, req.SubjectToken, true)
	}
	r.wg.Wait()
	switch {
	case r.aerr != nil:
		return in, r.aerr
	case r.terr != nil:
		return in, r.terr
	case r.rerr != nil:
		return in, storageFailure("check the actor's representations", r.rerr)
	}
	if r.au != nil {
		in.Actor.Roles, in.Actor.Tenant, in.Actor.Disabled = r.au.Roles, r.au.Tenant, r.au.Disabled
	}
	in.Target = policy.Subject{ID: r.t.ID, Roles: r.t.Roles, Tenant: r.t.Tenant,
		ImpersonationAllowed: r.t.ImpersonationAllowed, Disabled: r.t.Disabled}
	in.ActorIsRepresented = r.represented
	return in, nil
}

// user loads a user; unknown is a denial with reason unknown_user.
func (h *Handler) user(ctx context.Context, id, unknown string) (*storage.User, error) {
	u, err := h.deps.Storage.GetUser(ctx, id)
	switch {
	case err == nil && u != nil:
		return u, nil
	case err == nil, errors.Is(err, storage.ErrNotFound):
		return nil, deny(CodeUnknownUser, "exchange", unknown)
	}
	return nil, storageFailure("load user", err)
}

// impersonationScopes are the policy's scopes, never impersonation, offline_access only with a
// refresh token, and only scopes that were requested.
func impersonationScopes(granted, requested []string, refresh bool) []string {
	var out []string
	for _, s := range granted {
		if s == ScopeImpersonation || (s == ScopeOfflineAccess && !refresh) || !slices.Contains(requested, s) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// startError maps a failure to start a representation.
func startError(err error) error {
	var active *ActiveRepresentationError
	var widens *JoinWidensError
	switch {
	case errors.As(err, &widens):
		msg := fmt.Sprintf("The scope '%s' was not granted to the active representation '%s' of this user (it has: %s), "+
			"and a token that joins a representation never widens it: ask within those scopes, or stop the session and start a new one.",
			clip(widens.Scope), clip(widens.ID), clip(strings.Join(widens.Granted, " ")))
		return denyAs(fosite.ErrInvalidScope, CodeRepresentationScope, "representation", msg)
	case errors.As(err, &active):
		return deny(CodeActiveRepresentation, "representation", fmt.Sprintf(
			"The actor already represents '%s' in the session '%s' since %s; stop it before starting another.",
			clip(active.Target), clip(active.ID), active.Since.UTC().Format(time.RFC3339)))
	case errors.Is(err, ErrActiveRepresentation):
		return deny(CodeActiveRepresentation, "representation", "The actor already has an active representation of another user; stop it before starting another.")
	case errors.Is(err, ErrRepresentationsUnavailable):
		return deny(CodeRepresentationsUnavailable, "representation", "Representation sessions are not available on this server, so impersonation is not possible.")
	}
	return storageFailure("start representation", err)
}
