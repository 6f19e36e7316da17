package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/actas-dev/actas/storage"
)

// ScopeAudit is the OAuth scope a token needs to read the audit trail.
const ScopeAudit = "actas:audit"

// DefaultReaderRoles may read the audit trail (besides the scope).
var DefaultReaderRoles = []string{"auditor", "admin", "super_admin"}

// Principal is what the API needs to know about an authenticated caller.
type Principal struct {
	// Subject is the token's sub (a user id).
	Subject string
	// Roles are the subject's roles; empty for a client acting on its own behalf.
	Roles []string
}

// Authenticator checks the bearer token of a request to actas's own API. It is satisfied in cmd
// by a few lines over oauth.Provider.Authenticate (audit must not import oauth, which imports
// audit). It must require every scope in scopes and refuse tokens that carry `act`.
//
// On failure it returns a nil Principal and a non-nil error. When the error (or one it wraps)
// has a method Write(http.ResponseWriter), the handler lets it write the answer (oauth.APIError
// writes RFC 6750 errors and 503 for a storage outage); otherwise the answer is 401 invalid_token.
// Beware of typed nils: return a nil error, not a nil *oauth.APIError, on success.
type Authenticator interface {
	Authenticate(r *http.Request, scopes ...string) (*Principal, error)
}

// errorWriter is an authentication error that writes its own answer.
type errorWriter interface{ Write(w http.ResponseWriter) }

// API serves the audit trail over HTTP.
type API struct {
	trail *Trail
	auth  Authenticator
	roles []string
	log   *slog.Logger
}

// NewAPI returns the API on t; roles may read (nil: DefaultReaderRoles).
func NewAPI(t *Trail, auth Authenticator, roles []string) *API {
	if roles == nil {
		roles = DefaultReaderRoles
	}
	return &API{trail: t, auth: auth, roles: slices.Clone(roles), log: t.log}
}

// Routes mounts the audit API with the default reader roles:
//
//	GET /api/v1/audit?actor=&target=&type=&representation=&since=&until=&cursor=&limit=
//
// Bearer token with scope actas:audit, subject holding a role in DefaultReaderRoles. Answer:
// {"events": [...], "next_cursor": "..."}, events newest first in their JSON form (see
// [Event.MarshalJSON]); since and until are RFC 3339 times; limit defaults to DefaultLimit and is
// capped at MaxLimit. Errors are RFC 6750 / RFC 6749 JSON bodies: 400 invalid_request, 401
// invalid_token, 403 insufficient_scope or access_denied, 503 temporarily_unavailable.
func (t *Trail) Routes(mux *http.ServeMux, auth Authenticator) {
	NewAPI(t, auth, nil).Routes(mux)
}

// Routes mounts the API's routes on mux.
func (a *API) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/audit", a.list)
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	p, err := a.auth.Authenticate(r, ScopeAudit)
	if err != nil || p == nil {
		var ew errorWriter
		if errors.As(err, &ew) {
			ew.Write(w)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "invalid_token", "A valid bearer access token issued by actas is required.")
		return
	}
	if !slices.ContainsFunc(p.Roles, func(r string) bool { return slices.Contains(a.roles, r) }) {
		writeError(w, http.StatusForbidden, "access_denied", "Reading the audit trail needs the auditor or admin role.")
		return
	}
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	events, next, err := a.trail.Query(r.Context(), f)
	switch {
	case errors.Is(err, ErrInvalidFilter):
		writeError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	case errors.Is(err, storage.ErrUnavailable):
		a.log.ErrorContext(r.Context(), "audit: query failed", "err", err)
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The audit store is unavailable. Retry shortly.")
		return
	case err != nil:
		a.log.ErrorContext(r.Context(), "audit: query failed", "err", err)
		writeError(w, http.StatusInternalServerError, "server_error", "The audit trail could not be read.")
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Events     []Event `json:"events"`
		NextCursor string  `json:"next_cursor,omitempty"`
	}{events, next})
}

// parseFilter reads the query parameters; unknown parameters are refused (a typo must not
// silently widen the result).
func parseFilter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	var f Filter
	for k, vs := range q {
		if len(vs) != 1 {
			return f, fmt.Errorf("parameter %q must be given once", clip(k, 32))
		}
		v := vs[0]
		switch {
		case len(v) > MaxIDLen:
			return f, fmt.Errorf("parameter %q is too long", clip(k, 32))
		case v == "":
			// A script's unset variable must not silently widen the result to everything.
			return f, fmt.Errorf("parameter %q is empty; leave it out to not filter by it", clip(k, 32))
		}
		var err error
		switch k {
		case "actor":
			f.Actor = v
		case "target":
			f.Target = v
		case "type":
			f.Type = v
		case "representation":
			f.Representation = v
		case "cursor":
			f.Cursor = v
		case "since":
			f.Since, err = parseTime(k, v)
		case "until":
			f.Until, err = parseTime(k, v)
		case "limit":
			f.Limit, err = strconv.Atoi(v)
			if err != nil || f.Limit < 1 {
				err = fmt.Errorf("limit must be a positive integer (at most %d)", MaxLimit)
			}
		default:
			return f, fmt.Errorf("unknown parameter %q", clip(k, 32))
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func parseTime(k, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time (2006-01-02T15:04:05Z)", k)
	}
	return t, nil
}

func writeError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
