package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// APIScope is the scope an agent's token needs for actas's impersonation API (the policy dry
// run, the list of representable users, starting and stopping representations). The token's
// audience must include actas's issuer, and it must not carry `act`.
const APIScope = "actas:impersonate"

// Authenticator checks bearer tokens for actas's own API; *oauth.Provider satisfies it.
type Authenticator interface {
	Authenticate(r *http.Request, scopes ...string) (*oauth.Principal, *oauth.APIError)
}

// Evaluator is the policy engine as the API uses it; *policy.Engine satisfies it.
type Evaluator interface {
	Decide(ctx context.Context, in policy.Input) policy.Decision
	Representable(ctx context.Context, in policy.Input) policy.Decision
	// Impersonator reports whether a user with roles may impersonate anyone at all.
	Impersonator(roles []string) bool
}

// UserLister pages through users in a stable order; *storage.Store satisfies it.
type UserLister interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	ListUsers(ctx context.Context, cursor string, limit int) ([]*storage.User, string, error)
}

// PolicyAPI serves the policy dry run and the representable-users list (issue 5).
type PolicyAPI struct {
	Auth            Authenticator
	Policy          Evaluator
	Users           UserLister
	Representations Representations
	Audit           Audit
	Now             func() time.Time
	// Issuer is actas's issuer URL: the audience of the token to issue when the dry run names
	// none, as the exchange defaults it.
	Issuer string
}

// Routes mounts:
//
//	POST /api/v1/policy/evaluate       dry run: the decision and every rule's outcome
//	GET  /api/v1/representable-users   users the caller may impersonate now (?q=&limit=&cursor=)
//
// Both need a bearer access token issued by actas for actas (audience = the issuer) with the
// scope actas:impersonate, never a token carrying `act`.
func (a *PolicyAPI) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/policy/evaluate", a.evaluate)
	mux.HandleFunc("GET /api/v1/representable-users", a.representable)
}

// evaluateRequest is the body of a dry run; field names follow the exchange parameters.
type evaluateRequest struct {
	Target   string   `json:"target"`
	Actor    string   `json:"actor,omitempty"` // auditors and admins only; default the caller
	ClientID string   `json:"client_id,omitempty"`
	Audience []string `json:"audience,omitempty"`
	Scope    []string `json:"scope,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Ticket   string   `json:"ticket,omitempty"`
}

// decisionView is the JSON form of a decision (durations as Go duration strings).
type decisionView struct {
	Allowed         bool                 `json:"allowed"`
	Rule            string               `json:"rule,omitempty"`
	ReasonCode      string               `json:"reason_code,omitempty"`
	Reason          string               `json:"reason,omitempty"`
	ConsentRequired bool                 `json:"consent_required"`
	Obligations     *obligationsView     `json:"obligations,omitempty"`
	Outcomes        []policy.RuleOutcome `json:"outcomes"`
	Actor           string               `json:"actor"`
	Target          string               `json:"target"`
}

type obligationsView struct {
	AccessTokenTTL string   `json:"access_token_ttl"`
	SessionTTL     string   `json:"session_ttl"`
	Scopes         []string `json:"scopes"`
	BreakGlass     bool     `json:"break_glass,omitempty"`
}

const maxEvaluateBody = 16 << 10

func (a *PolicyAPI) evaluate(w http.ResponseWriter, r *http.Request) {
	p, aerr := a.Auth.Authenticate(r, APIScope)
	if aerr != nil {
		aerr.Write(w)
		return
	}
	var req evaluateRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEvaluateBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "The body must be a JSON object: target, and optionally actor, client_id, audience, scope, reason, ticket.")
		return
	}
	if req.Target == "" {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "'target' (a user id) is required.")
		return
	}
	privileged := p.HasRole("auditor") || p.HasRole("admin") || p.HasRole("super_admin")
	if req.Actor != "" && req.Actor != p.Subject && !privileged {
		writeAPIError(w, http.StatusForbidden, "access_denied", "Only auditors and admins may evaluate the policy for another actor.")
		return
	}
	// A dry run explains every rule, target attributes included: it is for those who may
	// impersonate someone (and for auditors and admins), not for any user who holds the scope.
	if !privileged && p.User != nil && !a.Policy.Impersonator(p.User.Roles) {
		writeAPIError(w, http.StatusForbidden, "access_denied", "None of your roles may impersonate anyone (policy.matrix), so there is nothing to evaluate.")
		return
	}
	ctx := r.Context()
	in, err := a.input(ctx, r, p, req.Actor, req.Target)
	if err != nil {
		a.writeLookupError(w, err)
		return
	}
	in.ClientID = req.ClientID
	if in.ClientID == "" {
		in.ClientID = p.ClientID
	}
	// The same input the exchange gives the policy: the scope impersonation asks for the grant
	// and is never issued, and no audience means actas itself.
	in.Audiences, in.Reason, in.Ticket = req.Audience, req.Reason, req.Ticket
	if len(in.Audiences) == 0 && a.Issuer != "" {
		in.Audiences = []string{a.Issuer}
	}
	for _, s := range req.Scope {
		if s != ScopeImpersonation {
			in.RequestedScopes = append(in.RequestedScopes, s)
		}
	}
	d := a.Policy.Decide(ctx, in)
	if a.Audit != nil {
		_ = a.Audit.Record(ctx, Event{Type: EventPolicyDryRun, Actor: in.Actor.ID, Target: in.Target.ID,
			ClientID: in.ClientID, Decision: decisionWord(d.Allowed), Rule: d.Rule, ReasonCode: string(d.Code),
			Reason: req.Reason, Ticket: req.Ticket, Time: in.Now})
	}
	writeJSON(w, http.StatusOK, view(d, in))
}

// input resolves the actor (the caller, or the named actor for auditors) and the target.
func (a *PolicyAPI) input(ctx context.Context, r *http.Request, p *oauth.Principal, actorID, targetID string) (policy.Input, error) {
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	in := policy.Input{Now: now(), SourceIP: ClientIP(r.Context())}
	if !in.SourceIP.IsValid() {
		in.SourceIP = peerIP(r)
	}
	actor := p.User
	if actorID != "" && actorID != p.Subject {
		u, err := a.Users.GetUser(ctx, actorID)
		if err != nil {
			return in, err
		}
		actor = u
	} else {
		in.Actor.AMR, in.Actor.ACR, in.Actor.AuthTime = p.AMR, p.ACR, p.AuthTime
	}
	if actor == nil {
		return in, errNotAUser
	}
	in.Actor.ID, in.Actor.Roles, in.Actor.Tenant, in.Actor.Disabled = actor.ID, actor.Roles, actor.Tenant, actor.Disabled
	if targetID != "" {
		t, err := a.Users.GetUser(ctx, targetID)
		if err != nil {
			return in, err
		}
		in.Target = subjectOf(t)
	}
	represented, err := a.Representations.IsRepresented(ctx, actor.ID)
	if err != nil {
		return in, err
	}
	in.ActorIsRepresented = represented
	return in, nil
}

var errNotAUser = errors.New("the caller is a client, not a user")

func subjectOf(u *storage.User) policy.Subject {
	return policy.Subject{ID: u.ID, Roles: u.Roles, Tenant: u.Tenant, ImpersonationAllowed: u.ImpersonationAllowed, Disabled: u.Disabled}
}

func (a *PolicyAPI) writeLookupError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		writeAPIError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Storage is unavailable; retry shortly.")
	case errors.Is(err, storage.ErrNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", "No such user.")
	case errors.Is(err, errNotAUser):
		writeAPIError(w, http.StatusForbidden, "access_denied", "Only a user's token can impersonate; this token belongs to a client.")
	default:
		writeAPIError(w, http.StatusInternalServerError, "server_error", "The users could not be loaded.")
	}
}

// representableUser is one entry of the representable-users list.
type representableUser struct {
	ID              string `json:"id"`
	Username        string `json:"username"`
	Name            string `json:"name,omitempty"`
	Email           string `json:"email,omitempty"`
	Tenant          string `json:"tenant,omitempty"`
	ConsentRequired bool   `json:"consent_required"`
}

const (
	defaultListLimit = 20
	maxListLimit     = 100
	maxScanPerPage   = 2000 // users examined per request, so a page is bounded in work
)

func (a *PolicyAPI) representable(w http.ResponseWriter, r *http.Request) {
	p, aerr := a.Auth.Authenticate(r, APIScope)
	if aerr != nil {
		aerr.Write(w)
		return
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	limit := defaultListLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "limit must be between 1 and 100.")
			return
		}
		limit = n
	}
	if len(q) > 128 || len(r.URL.Query().Get("cursor")) > 256 {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "q or cursor is too long.")
		return
	}
	ctx := r.Context()
	base, err := a.input(ctx, r, p, "", "")
	if err != nil {
		a.writeLookupError(w, err)
		return
	}
	base.ClientID = p.ClientID
	out := []representableUser{}
	cursor, scanned := r.URL.Query().Get("cursor"), 0
	for len(out) < limit && scanned < maxScanPerPage {
		users, next, err := a.Users.ListUsers(ctx, cursor, 100)
		if err != nil {
			a.writeLookupError(w, err)
			return
		}
		for i, u := range users {
			scanned++
			if q != "" && !strings.Contains(strings.ToLower(u.Username+" "+u.Name+" "+u.Email), q) {
				continue
			}
			in := base
			in.Target = subjectOf(u)
			if d := a.Policy.Representable(ctx, in); d.Allowed {
				out = append(out, representableUser{ID: u.ID, Username: u.Username, Name: u.Name, Email: u.Email,
					Tenant: u.Tenant, ConsentRequired: d.ConsentRequired})
				if len(out) == limit {
					if i < len(users)-1 {
						next = u.ID
					}
					cursor = next
					goto done
				}
			}
		}
		cursor = next
		if next == "" {
			break
		}
	}
done:
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "next_cursor": cursor})
}

func view(d policy.Decision, in policy.Input) decisionView {
	v := decisionView{Allowed: d.Allowed, Rule: d.Rule, ReasonCode: string(d.Code), Reason: d.Reason,
		ConsentRequired: d.ConsentRequired, Outcomes: d.Outcomes, Actor: in.Actor.ID, Target: in.Target.ID}
	if d.Allowed {
		v.Obligations = &obligationsView{AccessTokenTTL: d.Obligations.AccessTokenTTL.String(),
			SessionTTL: d.Obligations.SessionTTL.String(), Scopes: d.Obligations.Scopes, BreakGlass: d.Obligations.BreakGlass}
	}
	if v.Outcomes == nil {
		v.Outcomes = []policy.RuleOutcome{}
	}
	return v
}

func decisionWord(allowed bool) string {
	if allowed {
		return "allow"
	}
	return "deny"
}

func peerIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
