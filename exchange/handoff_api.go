package exchange

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/actas-dev/actas/internal/logging"
)

// maxHandoffBody bounds the body of a hand-off request.
const maxHandoffBody = 4 << 10

// Routes mounts the hand-off API:
//
//	POST /api/v1/representations/{id}/handoffs   {"client_id": "<receiving client>"}
//	POST /api/v1/representations/current/handoffs the caller's active representation
//
// The caller is the representation's agent, with their own bearer access token for actas (scope
// actas:impersonate; never a token carrying `act`, which oauth.Provider.Authenticate refuses).
// Anyone else gets 404, as for a session that does not exist. Answers: 201 with [HandoffCreated]
// (Cache-Control: no-store); 400 invalid_request when the client is not a hand-off target or the
// body is malformed; 409 representation_ended; 503 when storage is unreachable.
func (h *Handoffs) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/representations/{id}/handoffs", h.apiCreate)
}

type handoffBody struct {
	ClientID string `json:"client_id"`
}

func (h *Handoffs) apiCreate(w http.ResponseWriter, r *http.Request) {
	s := h.s
	p := s.caller(w, r)
	if p == nil || !repNeed(w, p, APIScope) {
		return
	}
	var body handoffBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxHandoffBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.ClientID == "" {
		repError(w, http.StatusBadRequest, "invalid_request", `The body must be a JSON object {"client_id": "<the receiving client>"}.`)
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	if id == "current" {
		rec, err := s.Current(ctx, "", p.Subject)
		if err != nil {
			s.storageError(w, r, err)
			return
		}
		id = rec.ID
	}
	req := HandoffRequest{RepresentationID: id, Actor: p.Subject, ClientID: body.ClientID,
		CallerClientID: p.ClientID, RequestID: logging.RequestID(ctx)}
	if ip := ClientIP(ctx); ip.IsValid() {
		req.SourceIP = ip.String()
	}
	out, err := h.Create(ctx, req)
	switch {
	case err == nil:
		repJSON(w, http.StatusCreated, out)
	case errors.Is(err, ErrHandoffTarget):
		why := strings.TrimPrefix(err.Error(), ErrHandoffTarget.Error()+": ")
		repError(w, http.StatusBadRequest, "invalid_request", "The client is not a hand-off target ("+why+"): it must be registered with handoff_uris, be public, and be allowed the token-exchange grant.")
	case errors.Is(err, ErrRepresentationEnded):
		repError(w, http.StatusConflict, CodeRepresentationEnded, "The representation has ended; start a new one before handing it off.")
	default:
		s.storageError(w, r, err)
	}
}
