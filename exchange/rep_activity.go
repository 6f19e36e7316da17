package exchange

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// ActivityScope lets a confidential client (a resource server) report what was done under any
// representation session; without it, a client may report only for sessions under which it
// received tokens.
const ActivityScope = "actas:activity"

// EventRepresentationActivity is the audit type of an action performed under a representation.
const EventRepresentationActivity = "representation.activity"

// ClientAuthenticator authenticates a confidential client by its own credentials;
// *oauth.Provider satisfies it.
type ClientAuthenticator interface {
	AuthenticateClient(r *http.Request) (*storage.Client, *oauth.APIError)
}

// ActivityAPI serves POST /api/v1/representations/{id}/activity: resource servers add what was done
// under a representation to the audit trail, so "everything support did in my account" is one
// query and sits in the same tamper-evident chain.
type ActivityAPI struct {
	Clients ClientAuthenticator
	Reps    *Service
	Audit   Audit
	Now     func() time.Time
}

// Routes mounts the activity endpoint. It authenticates the calling client with HTTP Basic.
func (a *ActivityAPI) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/representations/{id}/activity", a.activity)
}

// activityReport is the body: what was done, to what, with which outcome, and when.
type activityReport struct {
	Action  string    `json:"action"`
	Object  string    `json:"object,omitempty"`
	Outcome string    `json:"outcome,omitempty"`
	Time    time.Time `json:"time,omitzero"`
}

const (
	maxActivityBody  = 4 << 10
	maxActivityField = 256
)

func (a *ActivityAPI) activity(w http.ResponseWriter, r *http.Request) {
	c, aerr := a.Clients.AuthenticateClient(r)
	if aerr != nil {
		aerr.Write(w)
		return
	}
	var rep activityReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxActivityBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "The body must be a JSON object of at most 4 KiB: action, and optionally object, outcome, time (RFC 3339).")
		return
	}
	for name, v := range map[string]string{"action": rep.Action, "object": rep.Object, "outcome": rep.Outcome} {
		if len(v) > maxActivityField || !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n") {
			writeAPIError(w, http.StatusBadRequest, "invalid_request", "'"+name+"' must be one line of at most 256 bytes.")
			return
		}
	}
	if strings.TrimSpace(rep.Action) == "" {
		writeAPIError(w, http.StatusBadRequest, "invalid_request", "'action' is required.")
		return
	}
	ctx := r.Context()
	s, err := a.Reps.Get(ctx, r.PathValue("id"))
	switch {
	case errors.Is(err, storage.ErrUnavailable):
		writeAPIError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "Storage is unavailable; retry shortly.")
		return
	case err != nil:
		writeAPIError(w, http.StatusNotFound, "not_found", "No such representation session.")
		return
	}
	if !slices.Contains(s.Clients, c.ID) && s.ClientID != c.ID && !slices.Contains(c.Scopes, ActivityScope) {
		writeAPIError(w, http.StatusForbidden, "access_denied",
			"This client received no tokens under the representation and is not registered with the scope "+ActivityScope+".")
		return
	}
	now := time.Now()
	if a.Now != nil {
		now = a.Now()
	}
	detail := map[string]string{"action": rep.Action}
	if rep.Object != "" {
		detail["object"] = rep.Object
	}
	if rep.Outcome != "" {
		detail["outcome"] = rep.Outcome
	}
	if !rep.Time.IsZero() {
		detail["occurred_at"] = rep.Time.UTC().Format(time.RFC3339Nano)
	}
	e := Event{Type: EventRepresentationActivity, Time: now, Actor: s.Actor, Target: s.Target, ClientID: c.ID,
		RepresentationID: s.ID, Detail: detail}
	if err := a.Audit.Record(ctx, e); err != nil {
		writeAPIError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The activity could not be recorded; retry shortly.")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "recorded", "representation_id": s.ID})
}
