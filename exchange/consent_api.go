package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// Routes mounts the consent workflow's API (bearer tokens checked by auth, *oauth.Provider) and
// the account page:
//
//	POST /api/v1/access-requests                    agent: ask a target (scope actas:impersonate)
//	GET  /api/v1/access-requests                    agent: my requests, newest first (?state=)
//	GET  /api/v1/access-requests/{id}               the agent or the target (admins, auditors: any)
//	POST /api/v1/access-requests/{id}/withdraw      agent: take a pending request back
//	GET  /api/v1/me/access-requests                 target: requests addressed to me (?state=)
//	POST /api/v1/me/access-requests/{id}/approve    target: approve ({"duration": "20m"} may shorten)
//	POST /api/v1/me/access-requests/{id}/decline    target: decline
//	GET  /api/v1/me/consents                        target: my approved and used grants
//	POST /api/v1/me/consents/{id}/revoke            target: end a grant and its representation
//	GET  /account/access, POST /account/access      the hosted page (login session, no bearer)
//
// Every bearer token must be an access token that actas issued for itself (audience = the
// issuer) and must never carry `act`: an agent acting as the customer cannot answer its own
// request. The agent routes need the scope actas:impersonate, the /me routes ConsentOptions.MeScopes.
func (s *ConsentService) Routes(mux *http.ServeMux, auth Authenticator) {
	a := &consentAPI{s: s, auth: auth}
	mux.HandleFunc("POST /api/v1/access-requests", a.create)
	mux.HandleFunc("GET /api/v1/access-requests", a.listMine)
	mux.HandleFunc("GET /api/v1/access-requests/{id}", a.get)
	mux.HandleFunc("POST /api/v1/access-requests/{id}/withdraw", a.withdraw)
	mux.HandleFunc("GET /api/v1/me/access-requests", a.listForMe)
	mux.HandleFunc("POST /api/v1/me/access-requests/{id}/approve", a.approve)
	mux.HandleFunc("POST /api/v1/me/access-requests/{id}/decline", a.decline)
	mux.HandleFunc("GET /api/v1/me/consents", a.consentsForMe)
	mux.HandleFunc("POST /api/v1/me/consents/{id}/revoke", a.revoke)
	s.pageRoutes(mux)
}

type consentAPI struct {
	s    *ConsentService
	auth Authenticator
}

// accessRequestBody is the body of POST /api/v1/access-requests (and, with only the duration,
// of an approval). duration is a Go duration ("30m", "1h"); duration_seconds an alternative.
type accessRequestBody struct {
	Target          string `json:"target"`
	Reason          string `json:"reason"`
	Ticket          string `json:"ticket,omitempty"`
	Duration        string `json:"duration,omitempty"`
	DurationSeconds int64  `json:"duration_seconds,omitempty"`
}

func (b *accessRequestBody) duration() (time.Duration, error) {
	switch {
	case b.Duration != "" && b.DurationSeconds != 0:
		return 0, &ConsentInputError{Msg: "give 'duration' or 'duration_seconds', not both"}
	case b.DurationSeconds < 0 || b.DurationSeconds > int64(365*24*time.Hour/time.Second):
		return 0, &ConsentInputError{Msg: "'duration_seconds' is out of range"}
	case b.DurationSeconds > 0:
		return time.Duration(b.DurationSeconds) * time.Second, nil
	case b.Duration == "":
		return 0, nil
	}
	d, err := time.ParseDuration(b.Duration)
	if err != nil || d <= 0 {
		return 0, &ConsentInputError{Msg: "'duration' must be a positive duration such as \"30m\" or \"1h\""}
	}
	return d, nil
}

const maxAccessRequestBody = 8 << 10

// readBody decodes a JSON body into b; an empty body is allowed when optional.
func readBody(w http.ResponseWriter, r *http.Request, b *accessRequestBody, optional bool) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAccessRequestBody))
	dec.DisallowUnknownFields()
	err := dec.Decode(b)
	if optional && errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return &ConsentInputError{Msg: "the body must be a JSON object: target, reason, and optionally ticket and duration"}
	}
	return nil
}

// user authenticates a user (not a client) with scopes.
func (a *consentAPI) user(w http.ResponseWriter, r *http.Request, scopes ...string) (*oauth.Principal, bool) {
	p, aerr := a.auth.Authenticate(r, scopes...)
	if aerr != nil {
		aerr.Write(w)
		return nil, false
	}
	if p.User == nil {
		writeAPIError(w, http.StatusForbidden, "access_denied", "This token belongs to a client; access requests are made and answered by users.")
		return nil, false
	}
	return p, true
}

func (a *consentAPI) create(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, APIScope)
	if !ok {
		return
	}
	var b accessRequestBody
	if err := readBody(w, r, &b, false); err != nil {
		writeConsentError(w, err)
		return
	}
	d, err := b.duration()
	if err != nil {
		writeConsentError(w, err)
		return
	}
	in := NewAccessRequest{Agent: subjectOf(p.User), AgentName: displayName(p.User), ClientID: p.ClientID,
		SourceIP: ClientIP(r.Context()), Target: b.Target, Reason: b.Reason, Ticket: b.Ticket, Duration: d}
	in.Agent.AMR, in.Agent.ACR, in.Agent.AuthTime = p.AMR, p.ACR, p.AuthTime
	if !in.SourceIP.IsValid() {
		in.SourceIP = peerIP(r)
	}
	req, err := a.s.Request(r.Context(), in)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/access-requests/"+req.ID)
	writeJSON(w, http.StatusCreated, req)
}

// stateFilter reads ?state=; ok is false (and the answer written) for an unknown state.
func stateFilter(w http.ResponseWriter, r *http.Request) (func(*AccessRequest) bool, bool) {
	st := r.URL.Query().Get("state")
	if st == "" {
		return func(*AccessRequest) bool { return true }, true
	}
	if !slices.Contains([]string{ConsentPending, ConsentApproved, ConsentDeclined, ConsentWithdrawn,
		ConsentExpired, ConsentUsed, ConsentRevoked}, st) {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "Unknown state; use pending, approved, declined, withdrawn, expired, used or revoked.")
		return nil, false
	}
	return func(q *AccessRequest) bool { return q.State == st }, true
}

func writeList(w http.ResponseWriter, all []*AccessRequest, keep func(*AccessRequest) bool) {
	out := []*AccessRequest{}
	for _, q := range all {
		if keep(q) {
			out = append(out, q)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"access_requests": out})
}

func (a *consentAPI) listMine(w http.ResponseWriter, r *http.Request) {
	a.listFor(w, r, a.s.ForAgent, APIScope)
}

// listFor answers a list of the caller's requests (as agent or as target), filtered by ?state=.
func (a *consentAPI) listFor(w http.ResponseWriter, r *http.Request,
	fetch func(ctx context.Context, subject string) ([]*AccessRequest, error), scopes ...string) {
	p, ok := a.user(w, r, scopes...)
	if !ok {
		return
	}
	keep, ok := stateFilter(w, r)
	if !ok {
		return
	}
	all, err := fetch(r.Context(), p.Subject)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeList(w, all, keep)
}

func (a *consentAPI) get(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r)
	if !ok {
		return
	}
	req, err := a.s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeConsentError(w, err)
		return
	}
	staff := p.HasRole("admin") || p.HasRole("super_admin") || p.HasRole("auditor")
	switch {
	case req.Target == p.Subject && scopesHeld(p, a.s.o.MeScopes):
	case req.Agent == p.Subject && p.Scopes.Has(APIScope):
	case staff && p.Scopes.Has(APIScope):
	default:
		writeConsentError(w, ErrConsentNotFound) // never reveal others' requests
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func scopesHeld(p *oauth.Principal, scopes []string) bool {
	for _, sc := range scopes {
		if !p.Scopes.Has(sc) {
			return false
		}
	}
	return true
}

func (a *consentAPI) withdraw(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, APIScope)
	if !ok {
		return
	}
	req, err := a.s.Withdraw(r.Context(), r.PathValue("id"), p.Subject)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *consentAPI) listForMe(w http.ResponseWriter, r *http.Request) {
	a.listFor(w, r, a.s.ForTarget, a.s.o.MeScopes...)
}

func (a *consentAPI) consentsForMe(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, a.s.o.MeScopes...)
	if !ok {
		return
	}
	all, err := a.s.ForTarget(r.Context(), p.Subject)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeList(w, all, func(q *AccessRequest) bool { return q.State == ConsentApproved || q.State == ConsentUsed })
}

func (a *consentAPI) approve(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, a.s.o.MeScopes...)
	if !ok {
		return
	}
	var b accessRequestBody
	if err := readBody(w, r, &b, true); err != nil {
		writeConsentError(w, err)
		return
	}
	if b.Target != "" || b.Reason != "" || b.Ticket != "" {
		writeConsentError(w, &ConsentInputError{Msg: "an approval may only set 'duration' (to shorten it)"})
		return
	}
	d, err := b.duration()
	if err != nil {
		writeConsentError(w, err)
		return
	}
	req, err := a.s.Approve(r.Context(), r.PathValue("id"), p.Subject, d)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *consentAPI) decline(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, a.s.o.MeScopes...)
	if !ok {
		return
	}
	req, err := a.s.Decline(r.Context(), r.PathValue("id"), p.Subject)
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (a *consentAPI) revoke(w http.ResponseWriter, r *http.Request) {
	p, ok := a.user(w, r, a.s.o.MeScopes...)
	if !ok {
		return
	}
	req, err := a.s.Revoke(r.Context(), r.PathValue("id"), p.Subject)
	if err != nil && req != nil {
		// Revoked, but the representation could not be stopped: the client must retry.
		status, code := http.StatusInternalServerError, "server_error"
		if errors.Is(err, storage.ErrUnavailable) {
			status, code = http.StatusServiceUnavailable, "temporarily_unavailable"
		}
		writeJSON(w, status, map[string]any{"error": code, "state": req.State,
			"error_description": "The consent is revoked, but its representation could not be ended; retry the revocation."})
		return
	}
	if err != nil {
		writeConsentError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

// writeConsentError maps the workflow's errors to API answers: 400 invalid_request, 403
// access_denied (with the policy's reason_code), 404 not_found, 409 conflict (with the state, or
// the pending request's id), 503 temporarily_unavailable, else 500.
func writeConsentError(w http.ResponseWriter, err error) {
	var (
		pending *PendingRequestError
		state   *ConsentStateError
		input   *ConsentInputError
		denied  *ConsentDeniedError
	)
	switch {
	case errors.As(err, &pending):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "conflict", "pending_request_id": pending.ID,
			"error_description": "You already have a pending access request for this user; wait for the answer or withdraw it first."})
	case errors.As(err, &state):
		writeJSON(w, http.StatusConflict, map[string]string{"error": "conflict", "state": state.State,
			"error_description": fmt.Sprintf("The access request is %s, so it cannot be %s.", state.State, pastTense(state.Want))})
	case errors.As(err, &input):
		writeAPIError(w, http.StatusBadRequest, "invalid_request", input.Msg+".")
	case errors.As(err, &denied):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "access_denied", "rule": denied.Rule,
			"reason_code": denied.Code, "error_description": "The policy does not let you ask this user for access: " + denied.Reason + "."})
	case errors.Is(err, errUnknownTarget):
		writeAPIError(w, http.StatusNotFound, "not_found", "No such user.")
	case errors.Is(err, ErrConsentNotFound):
		writeAPIError(w, http.StatusNotFound, "not_found", "No such access request.")
	case errors.Is(err, storage.ErrUnavailable):
		writeAPIError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Storage is unavailable; retry shortly.")
	default:
		writeAPIError(w, http.StatusInternalServerError, "server_error", "The access request could not be processed.")
	}
}

func pastTense(verb string) string {
	switch verb {
	case "approve":
		return "approved"
	case "decline":
		return "declined"
	case "withdraw":
		return "withdrawn"
	case "revoke":
		return "revoked"
	case "end":
		return "ended"
	}
	return verb + "d"
}

// displayName is how a user is shown to others: "Name (username)", or the username, or the id.
func displayName(u *storage.User) string {
	switch {
	case u == nil:
		return ""
	case u.Name != "" && u.Username != "":
		return u.Name + " (" + u.Username + ")"
	case u.Username != "":
		return u.Username
	}
	return u.ID
}
