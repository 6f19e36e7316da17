package exchange

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// RepSession is the stored record of one representation session (issue 6): who represents whom,
// through which client, why, from when until when, and how it ended. It is what the API returns
// (with the computed fields of [RepSession.View]).
type RepSession struct {
	// ID is the session id: 128 random bits, base64url (22 characters). Tokens carry it as `sid`.
	ID string `json:"id"`
	// Actor is the representing user (the actor token's sub); ActorIssuer is set when a trusted
	// issuer, not actas, authenticated the actor.
	Actor       string `json:"actor"`
	ActorIssuer string `json:"actor_iss,omitempty"`
	// Target is the represented user.
	Target string `json:"target"`
	// ClientID is the client that started the session; Clients every client that received tokens
	// under it (the back-channel logout goes to each of them).
	ClientID string   `json:"client_id"`
	Clients  []string `json:"clients,omitempty"`
	// Reason, Ticket and ConsentID are the purpose given by the actor and the target's approval.
	Reason    string `json:"reason,omitempty"`
	Ticket    string `json:"ticket,omitempty"`
	ConsentID string `json:"consent_id,omitempty"`
	// Scopes and Audiences are what the first token of the session was granted.
	Scopes     []string `json:"scopes,omitempty"`
	Audiences  []string `json:"aud,omitempty"`
	BreakGlass bool     `json:"break_glass,omitempty"`
	// RequestID is the HTTP request id of the exchange that started the session.
	RequestID string `json:"request_id,omitempty"`
	// StartedAt and ExpiresAt bound the session; no token issued under it outlives ExpiresAt.
	StartedAt time.Time `json:"started_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// EndedAt, EndReason and EndedBy are set once the session has ended (see the End* reasons).
	EndedAt   time.Time `json:"ended_at,omitzero"`
	EndReason string    `json:"end_reason,omitempty"`
	EndedBy   string    `json:"ended_by,omitempty"`
	// Logout records the back-channel logout deliveries made when the session ended.
	Logout []LogoutDelivery `json:"logout,omitempty"`
}

// LogoutDelivery is the outcome of the back-channel logout to one client.
type LogoutDelivery struct {
	ClientID  string    `json:"client_id"`
	Delivered bool      `json:"delivered"`
	Attempts  int       `json:"attempts"`
	Status    int       `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	At        time.Time `json:"at"`
}

// Reasons why a representation session ended, as in RepSession.EndReason. They are public API
// (the audit trail and the API show them): never rename one.
const (
	EndStoppedByActor  = "stopped_by_actor"  // POST .../stop by the representing user
	EndStoppedByTarget = "stopped_by_target" // POST .../stop by the represented user, with their own token
	EndStoppedByAdmin  = "stopped_by_admin"  // POST .../stop by an administrator
	EndExpired         = "expired"           // the session reached ExpiresAt
	EndActorLogout     = "actor_logout"      // the actor's login session ended (logout or timeout)
	EndTargetSignOut   = "target_signed_out" // the target signed out everywhere
	EndActorDisabled   = "actor_disabled"    // the actor is disabled or no longer exists
	EndActorRoleLost   = "actor_role_revoked"
	EndAborted         = "aborted" // the exchange that opened the session failed before issuing
)

// Audit event types of representation sessions (the audit catalogue's representation.*).
const (
	EventRepresentationStarted  = "representation.started"
	EventRepresentationJoined   = "representation.joined"
	EventRepresentationStopped  = "representation.stopped"
	EventRepresentationExpired  = "representation.expired"
	EventRepresentationCascaded = "representation.ended_by_cascade"
)

// eventForEnd is the audit event type of an end reason.
func eventForEnd(reason string) string {
	switch reason {
	case EndExpired:
		return EventRepresentationExpired
	case EndActorLogout, EndTargetSignOut, EndActorDisabled, EndActorRoleLost:
		return EventRepresentationCascaded
	}
	return EventRepresentationStopped
}

// Ended reports whether the session has ended, explicitly or by expiry at now.
func (r *RepSession) Ended(now time.Time) bool {
	return !r.EndedAt.IsZero() || !now.Before(r.ExpiresAt)
}

// hasClient reports whether id is among the session's clients.
func (r *RepSession) hasClient(id string) bool {
	return id == r.ClientID || slices.Contains(r.Clients, id)
}

// RepView is the JSON form of a session for the API: the record plus what follows from it at the
// time of the answer.
type RepView struct {
	*RepSession
	Active bool `json:"active"`
	// DurationSeconds is how long the representation lasted (until now while active).
	DurationSeconds int64 `json:"duration_seconds"`
}

// View computes the API form at now. An expired session that was never ended explicitly is shown
// as ended at ExpiresAt with the reason "expired".
func (r *RepSession) View(now time.Time) RepView {
	c := *r
	end := now
	switch {
	case !c.EndedAt.IsZero():
		end = c.EndedAt
	case !now.Before(c.ExpiresAt):
		c.EndedAt, c.EndReason, end = c.ExpiresAt, EndExpired, c.ExpiresAt
	}
	d := max(end.Sub(c.StartedAt), 0)
	return RepView{RepSession: &c, Active: c.EndedAt.IsZero(), DurationSeconds: int64(d / time.Second)}
}

// MeView is what the represented user sees of a session: who acted as them, through which client,
// when, why, and for how long. Internal details (scopes, deliveries) are left out.
type MeView struct {
	ID              string    `json:"id"`
	Actor           string    `json:"actor"`
	ActorIssuer     string    `json:"actor_iss,omitempty"`
	ClientID        string    `json:"client_id"`
	Reason          string    `json:"reason,omitempty"`
	Ticket          string    `json:"ticket,omitempty"`
	BreakGlass      bool      `json:"break_glass,omitempty"`
	StartedAt       time.Time `json:"started_at"`
	ExpiresAt       time.Time `json:"expires_at"`
	EndedAt         time.Time `json:"ended_at,omitzero"`
	EndReason       string    `json:"end_reason,omitempty"`
	Active          bool      `json:"active"`
	DurationSeconds int64     `json:"duration_seconds"`
}

// MeView computes the represented user's view at now.
func (r *RepSession) MeView(now time.Time) MeView {
	v := r.View(now)
	return MeView{ID: v.ID, Actor: v.Actor, ActorIssuer: v.ActorIssuer, ClientID: v.ClientID,
		Reason: v.Reason, Ticket: v.Ticket, BreakGlass: v.BreakGlass, StartedAt: v.StartedAt,
		ExpiresAt: v.ExpiresAt, EndedAt: v.EndedAt, EndReason: v.EndReason, Active: v.Active,
		DurationSeconds: v.DurationSeconds}
}

// # Storage layout
//
// Every key below lives in the storage.KV shared with the Store; the part in braces is the Redis
// Cluster hash tag. <a> is the actor's key tag and <t> the target's (see repTag), <id> the
// session id, <m> an index member (repMember: start time and id).
//
//	rep:{<a>}:lock       the actor's lock: the active session's id   TTL: the session's (expires with it)
//	rep:{<a>}:s:<id>     JSON RepSession                             TTL: ExpiresAt (or EndedAt) + retention
//	rep:{<a>}:g:<id>     set of the fosite request ids of its grants TTL: ExpiresAt + margin
//	rep:{<a>}:all        set of <m>: the actor's sessions            TTL: longest member + retention
//	repid:{<id>}         <a>: finds a session by id                  TTL: ExpiresAt + retention
//	rep-target:{<t>}     set of <m>: the target's sessions           TTL: longest member + retention
//	rep-day:<yyyymmdd>   set of <m>: sessions started that UTC day   TTL: longest member + retention
//
// The lock and the session are written together by one KV.CreateAll (one Lua script on Redis,
// one critical section in memory): there is never one without the other at creation. The pointer
// and the index entries are written before (an index entry is harmless without its session: it
// is skipped when read, and removed again when the creation fails), so that a session that exists
// can always be found by id, actor, target and day.

func repLockKey(a string) string        { return "rep:{" + a + "}:lock" }
func repSessionKey(a, id string) string { return "rep:{" + a + "}:s:" + id }
func repGrantsKey(a, id string) string  { return "rep:{" + a + "}:g:" + id }
func repActorIndexKey(a string) string  { return "rep:{" + a + "}:all" }
func repPointerKey(id string) string    { return "repid:{" + id + "}" }
func repTargetIndexKey(t string) string { return "rep-target:{" + t + "}" }
func repDayKey(day string) string       { return "rep-day:" + day }
func repDay(t time.Time) string         { return t.UTC().Format("20060102") }
func repDayBefore(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour).Add(-time.Nanosecond)
}
func repNewID() string          { return base64.RawURLEncoding.EncodeToString(repRandom(16)) }
func repValidID(id string) bool { return len(id) == 22 && repURLSafe(id) }
func repURLSafe(s string) bool  { return strings.IndexFunc(s, repNotURLSafe) < 0 }
func repNotURLSafe(r rune) bool {
	return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_'))
}
func repMemberOf(r *RepSession) string { return repMember(r.StartedAt, r.ID) }
func repMember(t time.Time, id string) string {
	return fmt.Sprintf("%012x.%s", t.UnixMilli(), id)
}

func repRandom(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return b
}

// repParseMember splits an index member into its start time and session id.
func repParseMember(m string) (time.Time, string, bool) {
	ms, id, ok := strings.Cut(m, ".")
	if !ok || len(ms) != 12 || !repValidID(id) {
		return time.Time{}, "", false
	}
	n, err := strconv.ParseInt(ms, 16, 64)
	if err != nil || n < 0 {
		return time.Time{}, "", false
	}
	t := time.UnixMilli(n).UTC()
	if repMember(t, id) != m { // canonical only ("+0000…", upper-case hex): a cursor names one member
		return time.Time{}, "", false
	}
	return t, id, true
}

// maxTagLen bounds a user id used as it is in a key.
const maxTagLen = 128

// repTag is the key tag of a user: the id itself when it is short and cannot break the key layout
// (no braces, spaces or control characters, not starting with '#'), else '#' and 32 hex digits of
// SHA-256 over issuer and id. A foreign actor (issuer set) is always hashed, so that the same sub
// at two issuers never shares a lock. The mapping is injective in practice: plain tags never start
// with '#'.
func repTag(issuer, id string) string {
	if issuer == "" && id != "" && len(id) <= maxTagLen && id[0] != '#' &&
		strings.IndexFunc(id, func(r rune) bool { return r == '{' || r == '}' || !unicode.IsGraphic(r) || unicode.IsSpace(r) }) < 0 {
		return id
	}
	sum := sha256.Sum256([]byte(issuer + "\x00" + id))
	return "#" + hex.EncodeToString(sum[:16])
}

func encodeRep(r *RepSession) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("exchange: encode representation: %w", err)
	}
	return b, nil
}

func decodeRep(raw []byte) (*RepSession, error) {
	var r RepSession
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("exchange: decode representation: %w", err)
	}
	return &r, nil
}
