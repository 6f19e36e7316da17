package oauth

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// unavailable reports whether err (however deeply wrapped by fosite) comes from storage being
// unreachable. Such requests fail closed with 503.
func unavailable(err error) bool { return errors.Is(err, storage.ErrUnavailable) }

// writeJSONError writes an RFC 6749 §5.2 error body.
func writeJSONError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// StatusClientClosedRequest is the status written when the client went away before its answer
// (nginx's 499): nobody reads it, but the access log and the HTTP metrics then show the failure as
// the client's, not as a server error.
const StatusClientClosedRequest = 499

// clientGone answers a request whose client went away (its context ended): the failure is the
// client's doing, not storage's, so it is logged at INFO and neither counted as a storage error nor
// answered with a 5xx. It reports whether it answered.
func (p *Provider) clientGone(w http.ResponseWriter, r *http.Request, op string, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	p.log.InfoContext(r.Context(), "request canceled by the client", "op", op, "err", err)
	writeJSONError(w, StatusClientClosedRequest, "invalid_request", "The client closed the request before it was answered.")
	return true
}

// writeUnavailable is the one answer for a storage outage: no token, a clear 503.
func (p *Provider) writeUnavailable(w http.ResponseWriter, r *http.Request, op string, err error) {
	if p.clientGone(w, r, op, err) {
		return
	}
	p.opts.OnStorageError(op)
	p.log.ErrorContext(r.Context(), "storage unavailable", "op", op, "err", err)
	writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable",
		"The authorization server's storage is unavailable; nothing was issued. Retry shortly.")
}

// logServerError logs the cause of a server_error (never the request body).
func (p *Provider) logServerError(r *http.Request, op string, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.CodeField >= 500 {
		p.log.ErrorContext(r.Context(), op+" failed", "error", rfc.ErrorField, "debug", rfc.GetDescription(), "cause", errors.Unwrap(rfc))
	}
}
