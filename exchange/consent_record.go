package exchange

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// States of an access request (issue 8). pending → approved | declined | expired | withdrawn;
// approved → used | revoked | expired; used → revoked. They are public API: never rename one.
const (
	ConsentPending   = "pending"   // waiting for the target's answer
	ConsentApproved  = "approved"  // a consent grant, not used yet
	ConsentDeclined  = "declined"  // the target said no
	ConsentWithdrawn = "withdrawn" // the agent took the request back
	ConsentExpired   = "expired"   // not answered in time, or approved but not used in time
	ConsentUsed      = "used"      // a representation was started with it (one session per grant)
	ConsentRevoked   = "revoked"   // the target ended the grant (and its representation)
)

// Audit event types of the consent workflow (the audit catalogue's consent.*). The event's Actor
// is who made the change (the agent for requested and withdrawn, the target for approved,
// declined and revoked, empty for expired), its Target the represented user, its ConsentID the
// request's id.
const (
	EventConsentRequested = "consent.requested"
	EventConsentApproved  = "consent.approved"
	EventConsentDeclined  = "consent.declined"
	EventConsentWithdrawn = "consent.withdrawn"
	EventConsentRevoked   = "consent.revoked"
	EventConsentExpired   = "consent.expired"
)

// AccessRequest is an agent's request to act as a target, and once approved the consent grant
// bound to agent, target, reason and ticket. It is both the stored record and the API's JSON.
// Its id is the consent id that tokens and representation sessions carry.
type AccessRequest struct {
	// ID: 128 random bits, base64url (22 characters).
	ID    string `json:"id"`
	State string `json:"state"`
	// Agent is the requesting user's id, AgentName how the target sees them ("Sam Support (sam)").
	Agent     string `json:"agent"`
	AgentName string `json:"agent_name,omitempty"`
	// Target is the user whose consent is asked.
	Target string `json:"target"`
	// ClientID is the client through which the agent asked.
	ClientID string `json:"client_id,omitempty"`
	// Reason and Ticket are the purpose; an exchange must send exactly these.
	Reason string `json:"reason"`
	Ticket string `json:"ticket,omitempty"`
	// DurationSeconds is how long the grant is valid once approved (requested, capped by the
	// policy's session cap, possibly shortened by the target).
	DurationSeconds int64 `json:"duration_seconds"`
	// CreatedAt is when the agent asked. ExpiresAt is when a pending request expires; once
	// approved, when the grant expires (DecidedAt + duration).
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// DecidedAt is when the target approved or declined; UsedAt when an exchange used the grant.
	DecidedAt time.Time `json:"decided_at,omitzero"`
	UsedAt    time.Time `json:"used_at,omitzero"`
	// RepresentationID is the representation session started under the grant.
	RepresentationID string `json:"representation_id,omitempty"`
	// EndedAt and EndedBy are set by withdraw, revoke and expiry (EndedBy empty for expiry).
	EndedAt time.Time `json:"ended_at,omitzero"`
	EndedBy string    `json:"ended_by,omitempty"`
}

// Duration is the grant's validity.
func (r *AccessRequest) Duration() time.Duration {
	return time.Duration(r.DurationSeconds) * time.Second
}

// Open reports whether the request can still change by itself (pending or approved, not used).
func (r *AccessRequest) Open() bool { return r.State == ConsentPending || r.State == ConsentApproved }

// overdue reports that a pending or approved request has passed ExpiresAt at now.
func (r *AccessRequest) overdue(now time.Time) bool { return r.Open() && !now.Before(r.ExpiresAt) }

// matches reports whether the grant was given for exactly this purpose.
func (r *AccessRequest) matches(reason, ticket string) bool {
	return r.Reason == reason && r.Ticket == ticket
}

// Storage layout (records and indexes of storage.Store; <h> is consentTag of the value named):
//
//	consent:{<id>}               AccessRequest                   TTL: request TTL + max duration + retention
//	consent-pending:{<h(pair)>}  {"id": <id>}: the agent's one pending request for the target
//	                                                             TTL: the request's expiry
//	consent-target:{<h(target)>} index of the target's request ids
//	consent-agent:{<h(agent)>}   index of the agent's request ids
//	consent-pair:{<h(pair)>}     index of the ids of one agent's requests for one target
//	consent-open:{all}           index of the ids of pending and approved requests (for Sweep)
//
// Every transition is one compare-and-swap of the consent record (Store.UpdateRecord): of two
// concurrent transitions from one state, exactly one is written. The pending lock is taken with
// CreateRecord (SET NX) before the request is written and released, by owner, when the request
// leaves pending; a lock whose request is no longer pending (a crash in between) is released by
// the next request of that agent for that target.
const (
	kindConsent        = "consent"
	kindConsentPending = "consent-pending"
	kindConsentTarget  = "consent-target"
	kindConsentAgent   = "consent-agent"
	kindConsentPair    = "consent-pair"
	kindConsentOpen    = "consent-open"
	consentOpenID      = "all"
)

// pendingLock is the value of the consent-pending record.
type pendingLock struct {
	ID string `json:"id"`
}

// consentTag hashes user ids into fixed-size, brace-free record ids.
func consentTag(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

func consentPair(agent, target string) string { return consentTag("pair", agent, target) }

// consentNewID returns 128 random bits, base64url.
func consentNewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// consentValidID accepts only ids this package could have made.
func consentValidID(id string) bool {
	if len(id) != 22 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// checkPurposeText validates a reason or ticket: bounded, valid UTF-8, no control or
// bidirectional formatting characters (they could disguise text on the account page).
func checkPurposeText(name, s string, max int) error {
	switch {
	case len(s) > max:
		return &ConsentInputError{Msg: name + " is longer than the limit"}
	case !utf8.ValidString(s):
		return &ConsentInputError{Msg: name + " must be valid UTF-8"}
	case strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
	}) >= 0:
		return &ConsentInputError{Msg: name + " must not contain control characters"}
	}
	return nil
}
