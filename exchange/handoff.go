package exchange

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Mobile hand-off (issue 9): a one-time, short-lived code, bound to one registered public client,
// that brings an agent's active representation into a mobile app without a token ever appearing
// in a URL, a launch parameter or a chat message.
//
//  1. The agent asks for it: POST /api/v1/representations/{id}/handoffs {"client_id": "…"}
//     ([Handoffs.Routes], [Handoffs.Create]). actas answers with the code, its expiry, links built
//     from the client's registered hand-off URIs (the code in the fragment: `#code=…`) and a QR
//     code of the link as a data: URL. Only the SHA-256 of the code is stored.
//  2. The app redeems it at the token endpoint as a token exchange by the public client, with
//     subject_token_type [TokenTypeHandoffCode] ([Handler], handoff_grant.go). The grant finds the
//     redeemer by asserting Options.Representations to [HandoffRedeemer]: *[Service] implements it,
//     so wiring the representation service is all it takes.
//  3. The code works once: redemption marks it used with one compare-and-swap and keeps the record
//     as a tombstone naming the grant it issued until the code's expiry plus [HandoffReplayGrace].
//     A second redemption is refused (invalid_request, reason handoff_replayed), audited as
//     handoff.replay_refused, and revokes every token of the first redemption's grant, as RFC 6749
//     §4.1.2 recommends for a replayed authorization code.
//
// The tokens are those of the representation: `sub` the represented user, `act` the agent, `sid`
// the representation; scopes never beyond the representation's; lifetime bounded by its end; the
// grant recorded against it, so that ending it revokes them and tells the app's back-channel
// logout URI. See docs/mobile.md.

// Defaults and bounds of hand-off codes.
const (
	// DefaultHandoffTTL is a code's life when HandoffOptions.TTL is 0.
	DefaultHandoffTTL = 2 * time.Minute
	// MaxHandoffTTL is the longest life HandoffOptions.TTL may give a code.
	MaxHandoffTTL = 5 * time.Minute
	// DefaultHandoffAccessTokenTTL caps the access tokens of a redemption when
	// HandoffOptions.AccessTokenTTL is 0: the policy's default access_token_ttl.
	DefaultHandoffAccessTokenTTL = 5 * time.Minute
	// HandoffReplayGrace is how long a code's record outlives its expiry, so that a replay just
	// after the expiry is still recognised as one (and revokes what the first use issued).
	HandoffReplayGrace = time.Minute
	// HandoffCodeLen is the length of a code: 256 random bits in unpadded base64url.
	HandoffCodeLen   = 43
	handoffCodeBytes = 32
	// maxHandoffQRModulePixels bounds HandoffOptions.QRModulePixels.
	maxHandoffQRModulePixels = 32
)

// Audit event types and the exchange form of hand-offs (the audit catalogue's handoff.*).
const (
	EventHandoffCreated        = "handoff.created"
	EventHandoffRedeemed       = "handoff.redeemed"
	EventHandoffReplayRefused  = "handoff.replay_refused"
	FormHandoff                = "handoff"
	handoffRule                = "handoff"
	handoffDetailID            = "handoff_id"
	handoffDetailRevokedGrant  = "revoked_grant"
	handoffDetailToClient      = "to_client"
	handoffDetailExpiresIn     = "expires_in"
	handoffDetailRevokeFailure = "revocation"
)

// Reason codes of refused redemptions (public API: never rename one). A redemption after the
// representation ended is refused with [CodeRepresentationEnded].
const (
	// CodeHandoffInvalid: the subject token is not a hand-off code of this server (malformed,
	// never issued, or past its expiry and grace).
	CodeHandoffInvalid = "handoff_invalid"
	// CodeHandoffExpired: the code has expired unused.
	CodeHandoffExpired = "handoff_expired"
	// CodeHandoffWrongClient: the code was issued for another client (it stays usable by its own).
	CodeHandoffWrongClient = "handoff_wrong_client"
	// CodeHandoffReplayed: the code was used before; what its first use issued is now revoked.
	CodeHandoffReplayed = "handoff_replayed"
	// CodeHandoffsUnavailable: this server has no hand-off redeemer (no representation service).
	CodeHandoffsUnavailable = "handoffs_unavailable"
)

// Errors of hand-off creation and redemption.
var (
	// ErrHandoffMalformed: the string does not have the shape of a hand-off code.
	ErrHandoffMalformed = errors.New("exchange: malformed hand-off code")
	// ErrHandoffUnknown: no hand-off has this code (never issued, or expired and forgotten).
	ErrHandoffUnknown = errors.New("exchange: unknown hand-off code")
	// ErrHandoffExpired: the code has expired unused.
	ErrHandoffExpired = errors.New("exchange: the hand-off code has expired")
	// ErrHandoffWrongClient: the code was issued for another client.
	ErrHandoffWrongClient = errors.New("exchange: the hand-off code was issued for another client")
	// ErrHandoffReplayed: the code was already used.
	ErrHandoffReplayed = errors.New("exchange: the hand-off code was already used")
	// ErrHandoffTarget: the client named for a hand-off is not a registered hand-off target
	// (unknown, not public, no hand-off URIs, or not allowed the token-exchange grant).
	ErrHandoffTarget = errors.New("exchange: the client is not a hand-off target")
)

// HandoffCode is a parsed hand-off code. It keeps only the code's SHA-256, the key under which
// the hand-off is stored: the code itself is never stored nor logged.
type HandoffCode struct{ sum [sha256.Size]byte }

// ParseHandoffCode checks that s has the shape of a hand-off code — exactly [HandoffCodeLen]
// base64url characters (RFC 4648 §5, no padding) that decode canonically to 32 bytes — before any
// storage lookup. Anything else, whatever its size, fails with [ErrHandoffMalformed].
func ParseHandoffCode(s string) (HandoffCode, error) {
	if len(s) != HandoffCodeLen {
		return HandoffCode{}, ErrHandoffMalformed
	}
	for i := 0; i < len(s); i++ {
		if !isBase64URL(s[i]) {
			return HandoffCode{}, ErrHandoffMalformed
		}
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(s); err != nil || len(b) != handoffCodeBytes {
		return HandoffCode{}, ErrHandoffMalformed
	}
	return HandoffCode{sum: sha256.Sum256([]byte(s))}, nil
}

func isBase64URL(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

// newHandoffCode returns a fresh code (256 bits from crypto/rand) and its parsed form.
func newHandoffCode() (string, HandoffCode) {
	raw := base64.RawURLEncoding.EncodeToString(repRandom(handoffCodeBytes))
	return raw, HandoffCode{sum: sha256.Sum256([]byte(raw))}
}

// key is the storage key of the hand-off: the SHA-256 of the code, hex, as its own hash tag.
func (c HandoffCode) key() string { return "handoff:{" + hex.EncodeToString(c.sum[:]) + "}" }

// handoffRecord is the stored hand-off. Once used it is the tombstone that recognises a replay.
type handoffRecord struct {
	// ID names the hand-off in audit events and logs (random, not a secret: it redeems nothing).
	ID               string `json:"id"`
	RepresentationID string `json:"rep"`
	// Actor (and ActorIssuer) asked for it; Target is the represented user; ClientID is the only
	// client that may redeem it.
	Actor       string    `json:"actor"`
	ActorIssuer string    `json:"actor_iss,omitempty"`
	Target      string    `json:"target"`
	ClientID    string    `json:"client_id"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	// AccessTokenTTL caps the access tokens of the redemption (HandoffOptions.AccessTokenTTL).
	AccessTokenTTL time.Duration `json:"at_ttl"`
	RequestID      string        `json:"request_id,omitempty"`
	// UsedAt and GrantID (the fosite request id of the grant it issued) are set by the
	// redemption; Revoked once a replay revoked that grant; Replays counts the replays.
	UsedAt  time.Time `json:"used_at,omitzero"`
	GrantID string    `json:"grant_id,omitempty"`
	Revoked bool      `json:"revoked,omitempty"`
	Replays int       `json:"replays,omitempty"`
}

// ttl is the record's time to live at now: until the code's expiry plus the replay grace.
func (r *handoffRecord) ttl(now time.Time) time.Duration {
	return max(r.ExpiresAt.Add(HandoffReplayGrace).Sub(now), time.Second)
}

func encodeHandoff(r *handoffRecord) ([]byte, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("exchange: encode hand-off: %w", err)
	}
	return b, nil
}

func decodeHandoff(raw []byte) (*handoffRecord, error) {
	var r handoffRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("exchange: decode hand-off: %w", err)
	}
	return &r, nil
}
