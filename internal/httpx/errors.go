package httpx

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/actas-dev/actas/storage"
)

// OAuth 2.0 error codes this package writes (RFC 6749 §4.1.2.1 and §5.2).
const (
	ErrCodeInvalidRequest         = "invalid_request"
	ErrCodeServerError            = "server_error"
	ErrCodeTemporarilyUnavailable = "temporarily_unavailable"
)

// ErrorBody is the JSON body of an OAuth error response (RFC 6749 §5.2).
type ErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// WriteError answers with status and an OAuth-style JSON error body
// {"error": code, "error_description": description} (the description is omitted when empty), with
// Content-Type: application/json and Cache-Control: no-store (RFC 6749 §5.1).
//
// The description is shown to the client: never put a secret, a token or an internal error text in it.
// Call WriteError before anything else has been written to w.
func WriteError(w http.ResponseWriter, status int, code, description string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	WriteJSON(w, status, ErrorBody{Error: code, ErrorDescription: description})
}

// WriteJSON answers with status and v encoded as JSON (Content-Type: application/json). If v cannot be
// encoded, it answers 500 server_error instead; a failed write (the client went away) is ignored.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// StorageUnavailable answers 503 with error temporarily_unavailable and Retry-After: 1: the answer to
// every request that needs storage while storage cannot be reached. Nothing has been issued; the
// client may retry. Use it when [IsUnavailable] reports true.
func StorageUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	WriteError(w, http.StatusServiceUnavailable, ErrCodeTemporarilyUnavailable,
		"The service is temporarily unavailable. Try again shortly.")
}

// IsUnavailable reports whether err means that storage could not be reached or did not answer in time
// ([storage.ErrUnavailable]). Callers must then fail closed and answer with [StorageUnavailable].
func IsUnavailable(err error) bool {
	return errors.Is(err, storage.ErrUnavailable)
}

// IsTooLarge reports whether err comes from reading a request body beyond the limit that [Wrap] set
// (an [*http.MaxBytesError], possibly wrapped, e.g. by r.ParseForm).
func IsTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// WriteTooLarge answers 413 with error invalid_request. Handlers call it when a body read or
// r.ParseForm fails and [IsTooLarge] reports true. (Wrap also turns any other answer given after the
// limit was hit into this one, so a handler that reports the failure differently is still consistent.)
func WriteTooLarge(w http.ResponseWriter) {
	WriteError(w, http.StatusRequestEntityTooLarge, ErrCodeInvalidRequest, "The request body is too large.")
}
