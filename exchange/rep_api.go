package exchange

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// AuditorScope is the scope with which an auditor (or an admin) reads representation sessions
// that are not their own; [APIScope] (actas:impersonate) also allows it for admins.
const AuditorScope = "actas:audit"

// Routes mounts the representation API. Every route needs a bearer access token issued by actas
// with actas's issuer in its audience, of a user (not a client acting for itself), and never a
// token that carries `act` or `sid` (oauth.Provider.Authenticate refuses those with 403): an
// agent acting as a customer cannot stop, read or sign out anything as that customer.
//
//	POST /api/v1/representations/{id}/stop     the actor (scope actas:impersonate), the target (no
//	                                           extra scope: their own token), or an admin (scope
//	                                           actas:impersonate); others get 404 (auditors 403)
//	POST /api/v1/representations/current/stop the caller's active representation as the actor
//	                                           (scope actas:impersonate)
//	GET  /api/v1/representations               admins and auditors (scope actas:impersonate or
//	                                           actas:audit); ?actor=&target=&active=&cursor=&limit=
//	GET  /api/v1/representations/{id}          the actor (actas:impersonate), the target (no extra
//	                                           scope), admins and auditors (actas:impersonate or
//	                                           actas:audit)
//	GET  /api/v1/me/representations            the caller's own history as a represented user: who
//	                                           acted as them, when, why, how long (no extra scope);
//	                                           ?active=&cursor=&limit=
//	POST /api/v1/me/sessions/end               "sign out everywhere": the caller's login sessions,
//	                                           every representation of the caller, and the
//	                                           caller's own as an actor (no extra scope)
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/representations/current/stop", s.apiStopCurrent)
	mux.HandleFunc("POST /api/v1/representations/{id}/stop", s.apiStop)
	mux.HandleFunc("GET /api/v1/representations", s.apiList)
	mux.HandleFunc("GET /api/v1/representations/{id}", s.apiGet)
	mux.HandleFunc("GET /api/v1/me/representations", s.apiMe)
	mux.HandleFunc("POST /api/v1/me/sessions/end", s.apiSignOut)
}

// repRelation is how the caller stands to a session.
type repRelation int

const (
	repRelNone repRelation = iota
	repRelTarget
	repRelActor
	repRelAdmin
	repRelAuditor
)

func (s *Service) relation(p *oauth.Principal, r *RepSession) repRelation {
	switch {
	case p.Subject == r.Target:
		return repRelTarget
	case p.Subject == r.Actor && r.ActorIssuer == "":
		return repRelActor
	case repHasAnyRole(p.User.Roles, s.o.AdminRoles):
		return repRelAdmin
	case repHasAnyRole(p.User.Roles, s.o.AuditorRoles):
		return repRelAuditor
	}
	return repRelNone
}

// caller authenticates a user's token (no scope yet: which one is needed depends on the route
// and the caller's relation to the session).
func (s *Service) caller(w http.ResponseWriter, r *http.Request) *oauth.Principal {
	auth := s.auth.Load()
	if auth == nil || *auth == nil {
		repError(w, http.StatusInternalServerError, "server_error", "The representation API is not configured.")
		return nil
	}
	p, aerr := (*auth).Authenticate(r)
	if aerr != nil {
		aerr.Write(w)
		return nil
	}
	if p.User == nil {
		(&oauth.APIError{Status: http.StatusForbidden, Code: "invalid_token",
			Description: "This API needs a user's access token, not a client's own token."}).Write(w)
		return nil
	}
	return p
}

// need checks that the caller's token holds one of scopes (403 insufficient_scope otherwise).
func repNeed(w http.ResponseWriter, p *oauth.Principal, scopes ...string) bool {
	for _, sc := range scopes {
		if p.Scopes.Has(sc) {
			return true
		}
	}
	(&oauth.APIError{Status: http.StatusForbidden, Code: "insufficient_scope",
		Description: "The access token lacks the scope " + strconv.Quote(scopes[0]) + "."}).Write(w)
	return false
}

func (s *Service) apiStop(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil {
		return
	}
	ctx := r.Context()
	rec, err := s.Get(ctx, r.PathValue("id"))
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	var reason string
	switch s.relation(p, rec) {
	case repRelTarget:
		reason = EndStoppedByTarget
	case repRelActor:
		if !repNeed(w, p, APIScope) {
			return
		}
		reason = EndStoppedByActor
	case repRelAdmin:
		if !repNeed(w, p, APIScope) {
			return
		}
		reason = EndStoppedByAdmin
	case repRelAuditor:
		repError(w, http.StatusForbidden, "access_denied", "Auditors may read representation sessions, not stop them.")
		return
	default:
		s.storageError(w, r, ErrRepresentationNotFound)
		return
	}
	s.stopAndAnswer(w, r, p, rec, reason)
}

func (s *Service) apiStopCurrent(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil || !repNeed(w, p, APIScope) {
		return
	}
	rec, err := s.Current(r.Context(), "", p.Subject)
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	s.stopAndAnswer(w, r, p, rec, EndStoppedByActor)
}

func (s *Service) stopAndAnswer(w http.ResponseWriter, r *http.Request, p *oauth.Principal, rec *RepSession, reason string) {
	out, _, err := s.end(r.Context(), repTag(rec.ActorIssuer, rec.Actor), rec.ID, p.Subject, reason, true)
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	repJSON(w, http.StatusOK, out.View(s.o.Now()))
}

func (s *Service) apiGet(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil {
		return
	}
	rec, err := s.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	switch s.relation(p, rec) {
	case repRelTarget:
		repJSON(w, http.StatusOK, rec.MeView(s.o.Now()))
		return
	case repRelActor:
		if !repNeed(w, p, APIScope) {
			return
		}
	case repRelAdmin, repRelAuditor:
		if !repNeed(w, p, AuditorScope, APIScope) {
			return
		}
	default:
		s.storageError(w, r, ErrRepresentationNotFound)
		return
	}
	repJSON(w, http.StatusOK, rec.View(s.o.Now()))
}

// repListResponse is the body of the list routes.
type repListResponse[T any] struct {
	Representations []T    `json:"representations"`
	NextCursor      string `json:"next_cursor,omitempty"`
}

func (s *Service) apiList(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil {
		return
	}
	if !repHasAnyRole(p.User.Roles, s.o.AdminRoles) && !repHasAnyRole(p.User.Roles, s.o.AuditorRoles) {
		repError(w, http.StatusForbidden, "access_denied", "Only administrators and auditors may list representation sessions; see /api/v1/me/representations for your own.")
		return
	}
	if !repNeed(w, p, AuditorScope, APIScope) {
		return
	}
	q := r.URL.Query()
	f, ok := repFilterOf(w, q.Get("active"), q.Get("cursor"), q.Get("limit"))
	if !ok {
		return
	}
	f.Actor, f.Target = q.Get("actor"), q.Get("target")
	writeRepList(s, w, r, f, (*RepSession).View)
}

// writeRepList answers one page of sessions matching f, each rendered by view.
func writeRepList[V any](s *Service, w http.ResponseWriter, r *http.Request, f RepFilter, view func(*RepSession, time.Time) V) {
	recs, next, err := s.List(r.Context(), f)
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	now := s.o.Now()
	out := repListResponse[V]{Representations: []V{}, NextCursor: next}
	for _, rec := range recs {
		out.Representations = append(out.Representations, view(rec, now))
	}
	repJSON(w, http.StatusOK, out)
}

func (s *Service) apiMe(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil {
		return
	}
	q := r.URL.Query()
	f, ok := repFilterOf(w, q.Get("active"), q.Get("cursor"), q.Get("limit"))
	if !ok {
		return
	}
	f.Target = p.Subject
	writeRepList(s, w, r, f, (*RepSession).MeView)
}

func (s *Service) apiSignOut(w http.ResponseWriter, r *http.Request) {
	p := s.caller(w, r)
	if p == nil {
		return
	}
	ended, err := s.SignOutEverywhere(r.Context(), p.Subject)
	if err != nil {
		s.storageError(w, r, err)
		return
	}
	if ended == nil {
		ended = []string{}
	}
	repJSON(w, http.StatusOK, map[string]any{"ended_representations": ended, "login_sessions_ended": s.o.LoginSessions != nil})
}

// repFilterOf parses the common query parameters (400 when malformed).
func repFilterOf(w http.ResponseWriter, active, cursor, limit string) (RepFilter, bool) {
	f := RepFilter{Cursor: cursor}
	if active != "" {
		b, err := strconv.ParseBool(active)
		if err != nil {
			repError(w, http.StatusBadRequest, "invalid_request", "'active' must be true or false.")
			return f, false
		}
		f.Active = &b
	}
	if limit != "" {
		n, err := strconv.Atoi(limit)
		if err != nil || n < 1 || n > repMaxLimit {
			repError(w, http.StatusBadRequest, "invalid_request", "'limit' must be a number from 1 to 200.")
			return f, false
		}
		f.Limit = n
	}
	return f, true
}

// storageError answers a service error: 404 for an unknown session, 400 for a bad cursor, 503
// when storage is unreachable, 500 otherwise.
func (s *Service) storageError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrRepresentationNotFound):
		repError(w, http.StatusNotFound, "not_found", "No such representation session.")
	case errors.Is(err, ErrBadCursor):
		repError(w, http.StatusBadRequest, "invalid_request", "The cursor is not valid.")
	case errors.Is(err, storage.ErrUnavailable):
		(&oauth.APIError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Err: err}).Write(w)
	default:
		s.o.Logger.ErrorContext(r.Context(), "representation API failed", "path", r.URL.Path, "err", err)
		repError(w, http.StatusInternalServerError, "server_error", "The request could not be completed.")
	}
}

func repJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func repError(w http.ResponseWriter, status int, code, desc string) {
	repJSON(w, status, map[string]string{"error": code, "error_description": desc})
}
