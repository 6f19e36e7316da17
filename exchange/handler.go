package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/internal/logging"
	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// Handler is the RFC 8693 token-exchange grant as a fosite.TokenEndpointHandler. Build it with
// [Grant] (for oauth.Options.Grants) or [New]. It is safe for concurrent use.
type Handler struct {
	o       Options
	deps    oauth.GrantDeps
	issuer  string
	trusted map[string]*trustedIssuer

	// pending carries each request's state from HandleTokenEndpointRequest to
	// PopulateTokenEndpointResponse (fosite's requester has no room for it), keyed by the
	// requester. Populate removes the entry; sweep drops entries whose Populate never came.
	pending  sync.Map // fosite.AccessRequester → *state
	npending atomic.Int64
}

var _ fosite.TokenEndpointHandler = (*Handler)(nil)

// Grant returns the factory that oauth.New calls to build the grant with the provider's issuing
// and verifying dependencies. Invalid options make oauth.New fail.
func Grant(o Options) oauth.GrantFactory {
	return func(deps oauth.GrantDeps) (fosite.TokenEndpointHandler, error) { return New(o, deps) }
}

// New builds the grant over the provider's dependencies.
func New(o Options, deps oauth.GrantDeps) (*Handler, error) {
	if deps.Config == nil || deps.Strategy == nil || deps.Storage == nil || deps.Provider == nil || deps.NewSession == nil {
		return nil, errors.New("exchange: incomplete grant dependencies")
	}
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	if o.Issuer == "" {
		o.Issuer = deps.Config.AccessTokenIssuer
	}
	if o.AccessTokenLifespan == 0 {
		o.AccessTokenLifespan = deps.Config.AccessTokenLifespan
	}
	if o.RefreshTokenLifespan == 0 {
		o.RefreshTokenLifespan = deps.Config.RefreshTokenLifespan
	}
	if o.IDTokenLifespan == 0 {
		o.IDTokenLifespan = deps.Config.IDTokenLifespan
	}
	if o.Issuer == "" || o.AccessTokenLifespan <= 0 || o.IDTokenLifespan <= 0 {
		return nil, errors.New("exchange: the issuer and the access and ID token lifespans must be set")
	}
	h := &Handler{o: o, deps: deps, issuer: o.Issuer, trusted: map[string]*trustedIssuer{}}
	for _, t := range o.TrustedIssuers {
		if t.Issuer == h.issuer {
			return nil, fmt.Errorf("exchange: trusted issuer %q is this server", t.Issuer)
		}
		h.trusted[t.Issuer] = newTrustedIssuer(t, o.HTTPClient, o.Now, o.Logger)
	}
	return h, nil
}

// RefreshGuard is what oauth.Options.RefreshGuard should call: a grant issued under a
// representation (sid) may be refreshed only while the representation is active. A storage
// outage keeps wrapping storage.ErrUnavailable (503).
func RefreshGuard(reps Representations) func(context.Context, *oauth.Session) error {
	if reps == nil {
		reps = DenyRepresentations{}
	}
	return func(ctx context.Context, s *oauth.Session) error {
		if s == nil || s.SID == "" {
			return nil
		}
		err := reps.Active(ctx, s.SID)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, storage.ErrUnavailable):
			return fmt.Errorf("exchange: refresh guard: %w", err)
		}
		msg := "The representation this grant was issued under has ended."
		return fosite.ErrInvalidGrant.WithHintf("[reason=%s] %s", CodeRepresentationEnded, msg).
			WithWrap(&Denial{Code: CodeRepresentationEnded, Rule: "exchange", Message: msg})
	}
}

// client is the calling client as the exchange sees it.
type client struct {
	id          string
	public      bool
	grantTypes  []string
	scopes      []string
	audience    []string
	exchangeFor []string
	fc          fosite.Client
}

func newClient(fc fosite.Client) *client {
	c := &client{id: fc.GetID(), public: fc.IsPublic(), grantTypes: fc.GetGrantTypes(),
		scopes: fc.GetScopes(), audience: fc.GetAudience(), fc: fc}
	if sc, ok := fc.(*storage.Client); ok {
		c.exchangeFor = sc.ExchangeFor
	}
	return c
}

func (c *client) may(grant string) bool { return slices.Contains(c.grantTypes, grant) }

// CanHandleTokenEndpointRequest: grant_type is exactly the token-exchange URN.
func (h *Handler) CanHandleTokenEndpointRequest(_ context.Context, ar fosite.AccessRequester) bool {
	return ar.GetGrantTypes().ExactOne(GrantType)
}

// CanSkipClientAuth is false: the client always authenticates (RFC 8693 §2.1 relies on it).
func (h *Handler) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

// state is one request's progress, from Handle to Populate.
type state struct {
	at     time.Time
	now    time.Time
	req    *Request
	client *client
	ev     Event
	// repID is the representation the grant belongs to (a new one, or the subject token's);
	// started is true when this request opened it (so a failure aborts it).
	repID   string
	started bool
	rep     Representation // the session the request started or joined (impersonation)
	// consent is the consent grant this request used (released again if the exchange fails).
	consent ConsentGrant
	refresh bool
	stored  bool // tokens of the grant are in storage (a failure revokes them)
	// handoff is the redeemed hand-off code (FormHandoff), settled once the tokens are stored.
	handoff *HandoffCode
	// quiet: a refusal that is logged but not written to the audit trail (see refused).
	quiet bool
}

// HandleTokenEndpointRequest runs the phases of the exchange up to the session of the token to
// issue; see the package documentation.
func (h *Handler) HandleTokenEndpointRequest(ctx context.Context, ar fosite.AccessRequester) (err error) {
	if !h.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	now := h.o.Now()
	st := &state{at: time.Now(), now: now, ev: Event{Time: now, RequestID: logging.RequestID(ctx)}}
	if ip := ClientIP(ctx); ip.IsValid() {
		st.ev.SourceIP = ip.String()
	}
	defer func() {
		if err != nil {
			h.refused(ctx, st, err)
		}
	}()
	if ar.GetClient() == nil {
		return fosite.ErrInvalidClient.WithHint("The client could not be authenticated.")
	}
	c := newClient(ar.GetClient())
	st.client, st.ev.ClientID = c, c.id
	switch {
	case !c.may(GrantType):
		return fosite.ErrUnauthorizedClient.WithHintf("The client is not registered for the grant type '%s'.", GrantType)
	case c.public && ar.GetRequestForm().Get("subject_token_type") != TokenTypeHandoffCode:
		return fosite.ErrUnauthorizedClient.WithHintf("Public clients may use the token-exchange grant only to redeem a hand-off code (subject_token_type '%s'); anything else needs a confidential client.", TokenTypeHandoffCode)
	}
	if st.req, err = ParseRequest(ar.GetRequestForm()); err != nil {
		return err
	}
	req := st.req
	switch {
	case req.SubjectTokenType == TokenTypeUserID:
		st.ev.Form = FormImpersonation
	case req.SubjectTokenType == TokenTypeHandoffCode:
		st.ev.Form = FormHandoff
	case req.ActorToken != "":
		st.ev.Form = FormDelegation
	default:
		st.ev.Form = FormDownscoping
	}
	switch st.ev.Form {
	case FormImpersonation:
		err = h.impersonate(ctx, ar, st)
	case FormHandoff:
		err = h.redeemHandoff(ctx, ar, st)
	default:
		switch {
		case req.HasScope(ScopeImpersonation):
			return badRequest("The scope '%s' is only valid with subject_token_type '%s'.", ScopeImpersonation, TokenTypeUserID)
		case req.Reason != "" || req.Ticket != "":
			return badRequest("The parameters 'reason' and 'ticket' are only for impersonation.")
		}
		err = h.exchangeToken(ctx, ar, st)
	}
	if err != nil {
		return err
	}
	h.park(ar, st)
	return nil
}

// PopulateTokenEndpointResponse issues the tokens of a request this handler accepted and records
// the audit event (while the tokens are stored); if either fails, what was written is undone.
func (h *Handler) PopulateTokenEndpointResponse(ctx context.Context, ar fosite.AccessRequester, resp fosite.AccessResponder) (err error) {
	if !h.CanHandleTokenEndpointRequest(ctx, ar) {
		return fosite.ErrUnknownRequest
	}
	v, ok := h.pending.LoadAndDelete(ar)
	if !ok {
		return fosite.ErrServerError.WithHint("The exchange request was not prepared.")
	}
	h.npending.Add(-1)
	st := v.(*state)
	st.ev.GrantID = ar.GetID()
	defer func() {
		if err != nil {
			h.undo(ctx, ar, st)
			h.refused(ctx, st, err)
		}
	}()
	if err := h.issue(ctx, ar, resp, st); err != nil { // records the grant's audit event too
		return err
	}
	h.settleHandoff(ctx, ar, st)
	return nil
}

// maxPending bounds the parked states before old ones are swept.
const maxPending = 4096

// park keeps st for Populate. Populate always follows a successful Handle within the same
// request; entries older than a minute can only come from a request that failed in between, and
// are dropped.
func (h *Handler) park(ar fosite.AccessRequester, st *state) {
	h.pending.Store(ar, st)
	if h.npending.Add(1) <= maxPending {
		return
	}
	h.pending.Range(func(k, v any) bool {
		if time.Since(v.(*state).at) > time.Minute {
			if _, ok := h.pending.LoadAndDelete(k); ok {
				h.npending.Add(-1)
			}
		}
		return true
	})
}

// undo revokes what a failed Populate stored and aborts a representation it opened, on a context
// that survives the request's cancellation.
func (h *Handler) undo(ctx context.Context, ar fosite.AccessRequester, st *state) {
	ctx = context.WithoutCancel(ctx)
	if st.stored {
		if err := h.deps.Storage.RevokeAccessToken(ctx, ar.GetID()); err != nil && !errors.Is(err, fosite.ErrNotFound) {
			h.o.Logger.ErrorContext(ctx, "exchange: undo: revoke access token", "grant_id", ar.GetID(), "err", err)
		}
		if err := h.deps.Storage.RevokeRefreshToken(ctx, ar.GetID()); err != nil && !errors.Is(err, fosite.ErrNotFound) {
			h.o.Logger.ErrorContext(ctx, "exchange: undo: revoke refresh token", "grant_id", ar.GetID(), "err", err)
		}
	}
	h.abort(ctx, st)
}

// abort ends a representation this request opened.
func (h *Handler) abort(ctx context.Context, st *state) {
	if !st.started {
		return
	}
	st.rep.waitAudited() // the end is recorded after the start
	st.started = false
	if err := h.o.Representations.Abort(context.WithoutCancel(ctx), st.repID); err != nil {
		h.o.Logger.ErrorContext(ctx, "exchange: abort representation", "representation_id", st.repID, "err", err)
	}
	// A grant that failed after its consent was bound gives the consent back (a failed grant
	// never uses up the customer's approval).
	h.releaseConsent(ctx, st.consent, st.repID)
	st.consent = ConsentGrant{}
}

// granted records the audit event of a successful exchange; its failure fails the exchange.
func (h *Handler) granted(ctx context.Context, st *state) error {
	st.ev.Type, st.ev.Decision = EventGranted, "allow"
	if st.ev.Form == FormHandoff {
		st.ev.Type = EventHandoffRedeemed // the grant of a hand-off is its redemption
	}
	if !st.rep.queued {
		st.rep.waitAudited() // the grant is recorded after the representation's start
	}
	if err := h.o.Audit.Record(ctx, st.ev); err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return fmt.Errorf("exchange: audit: %w", err)
		}
		return fosite.ErrServerError.WithWrap(fmt.Errorf("exchange: audit: %w", err)).
			WithHint("The exchange could not be recorded in the audit trail; nothing was issued.")
	}
	// At debug level: the "audit event" line of the grant, always logged, says the same at info.
	h.o.Logger.DebugContext(ctx, "token exchange granted", "form", st.ev.Form, "client_id", st.ev.ClientID,
		"grant_id", st.ev.GrantID, "representation_id", st.ev.RepresentationID, "joined", st.ev.Joined)
	return nil
}

// refused records and logs a refusal.
func (h *Handler) refused(ctx context.Context, st *state, err error) {
	st.ev.Type, st.ev.Decision = EventDenied, "deny"
	st.ev.Error = oauthErrorCode(err)
	var d *Denial
	if errors.As(err, &d) {
		st.ev.Rule, st.ev.ReasonCode = d.Rule, d.Code
	}
	if st.ev.ReasonCode == CodeHandoffReplayed {
		st.ev.Type = EventHandoffReplayRefused
	}
	// A failure while the client was gone is the client's doing (a storage call or the grant's
	// audit append ended with its context): say so, and do not log it as a server error.
	serverSide := st.ev.Error == "server_error" || st.ev.Error == "temporarily_unavailable"
	gone := serverSide && ctx.Err() != nil && st.ev.ReasonCode == ""
	if gone {
		st.ev.ReasonCode = CodeRequestCanceled
	}
	st.rep.waitAudited()
	// A refusal that anyone can provoke at will is logged, not audited: a public client
	// authenticates nothing, so before it has presented a real hand-off code (one that names a
	// representation) its refusals are noise, and a flood of them written to the trail would push
	// real events out of its retention; the same for a hand-off code replayed again after its first
	// replay was audited.
	anonymous := st.client == nil || (st.client.public && st.ev.RepresentationID == "")
	if !anonymous && !st.quiet {
		if aerr := h.o.Audit.Record(context.WithoutCancel(ctx), st.ev); aerr != nil {
			h.o.Logger.ErrorContext(ctx, "exchange: audit of a refusal failed", "err", aerr)
		}
	}
	level := h.o.Logger.InfoContext
	if serverSide && !gone {
		level = h.o.Logger.ErrorContext
	}
	level(ctx, "token exchange refused", "form", st.ev.Form, "client_id", st.ev.ClientID,
		"error", st.ev.Error, "reason_code", st.ev.ReasonCode, "rule", st.ev.Rule, "cause", causeOf(err))
}

// causeOf returns the wrapped cause of a fosite error for logs (never a token: causes are our own
// or storage errors).
func causeOf(err error) string {
	var e *fosite.RFC6749Error
	if errors.As(err, &e) {
		if c := e.Unwrap(); c != nil {
			return c.Error()
		}
		return e.HintField
	}
	return err.Error()
}
