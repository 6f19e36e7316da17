package audit

import (
	"slices"
	"time"
)

// Event types: the catalogue. docs/audit.md shows one example of each. [Trail.Record] refuses a
// type that is not listed here, so the catalogue and the documentation stay complete: a feature
// that emits a new kind of event adds its constant here first.
const (
	// Login (issue 3): a password login succeeded or failed; a second factor (TOTP) failed.
	TypeLoginSucceeded     = "login.succeeded"
	TypeLoginFailed        = "login.failed"
	TypeSecondFactorFailed = "login.second_factor_failed"

	// Token exchange (RFC 8693, issue 4): requested (before the decision, optional), denied (Rule
	// and ReasonCode say why) and granted.
	TypeExchangeRequested = "token_exchange.requested"
	TypeExchangeDenied    = "token_exchange.denied"
	TypeExchangeGranted   = "token_exchange.granted"

	// Representation sessions: started, joined (an active session reused), stopped (Actor says by
	// whom), expired, ended by cascade (the agent's login session ended, a consent was withdrawn…),
	// and one activity reported by a resource server under the session.
	TypeRepresentationStarted  = "representation.started"
	TypeRepresentationJoined   = "representation.joined"
	TypeRepresentationStopped  = "representation.stopped"
	TypeRepresentationExpired  = "representation.expired"
	TypeRepresentationCascaded = "representation.ended_by_cascade"
	TypeRepresentationActivity = "representation.activity"

	// Consent of the represented user.
	TypeConsentRequested = "consent.requested"
	TypeConsentApproved  = "consent.approved"
	TypeConsentDeclined  = "consent.declined"
	TypeConsentWithdrawn = "consent.withdrawn"
	TypeConsentRevoked   = "consent.revoked"
	TypeConsentExpired   = "consent.expired"

	// Hand-off codes.
	TypeHandoffCreated       = "handoff.created"
	TypeHandoffRedeemed      = "handoff.redeemed"
	TypeHandoffReplayRefused = "handoff.replay_refused"

	// Tokens, policy and configuration.
	TypeTokenRevoked = "token.revoked"
	TypePolicyDryRun = "policy.dry_run"
	// TypeConfigLoaded carries the SHA-256 of the policy in force in Detail["policy_sha256"].
	TypeConfigLoaded = "config.loaded"
)

// Types lists the catalogue, in the order of the constants above.
func Types() []string { return slices.Clone(types) }

var types = []string{
	TypeLoginSucceeded, TypeLoginFailed, TypeSecondFactorFailed,
	TypeExchangeRequested, TypeExchangeDenied, TypeExchangeGranted,
	TypeRepresentationStarted, TypeRepresentationJoined, TypeRepresentationStopped,
	TypeRepresentationExpired, TypeRepresentationCascaded, TypeRepresentationActivity,
	TypeConsentRequested, TypeConsentApproved, TypeConsentDeclined, TypeConsentWithdrawn,
	TypeConsentRevoked, TypeConsentExpired,
	TypeHandoffCreated, TypeHandoffRedeemed, TypeHandoffReplayRefused,
	TypeTokenRevoked, TypePolicyDryRun, TypeConfigLoaded,
}

// KnownType reports whether t is in the catalogue.
func KnownType(t string) bool { return slices.Contains(types, t) }

// Decisions, for [Event.Decision].
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Event is one audit record. The fields are those of issue 7; every one is optional except Type,
// and [Trail.Record] fills ID, Time, PrevHash and Hash.
//
// An event never holds a token, secret, password or TOTP code: [Validate] refuses values shaped
// like a token, Detail keys that name a credential, control characters and over-long values.
// Callers pass identifiers (user ids, client ids, a token's jti), never credentials.
//
// Its JSON form (the API, `actas audit export`) is the canonical encoding (see [Canonical]) with
// "hash" added.
type Event struct {
	// ID is unique per event (128 random bits, hex); set by Record when empty.
	ID string
	// Time is when the event happened, in UTC, kept to the nanosecond (RFC 3339 with nine
	// fractional digits in the encoding); set by Record when zero.
	Time time.Time
	// Type is one of the Type* constants.
	Type string
	// Actor is who acted: the agent, the user logging in, the staff member stopping a session. For a
	// failed login it is the account the attempt named, if that account exists.
	Actor string
	// Target is whom the action concerned: the represented customer, the subject of a token.
	Target string
	// Client is the OAuth client id involved.
	Client string
	// RepresentationID and ConsentID name the representation session and consent concerned.
	RepresentationID string
	ConsentID        string
	// Decision is DecisionAllow or DecisionDeny, for events that record a decision.
	Decision string
	// Rule and ReasonCode explain a decision (the policy rule and its reason code, or an exchange
	// code); ReasonText is free text: the purpose an agent gave, or a human explanation.
	Rule       string
	ReasonCode string
	ReasonText string
	// Ticket is the support ticket given with an impersonation request.
	Ticket string
	// SourceAddress is the client IP address (after the trusted-proxy rules); UserAgent the
	// User-Agent header (clipped); RequestID the HTTP request id, for correlation with the logs.
	SourceAddress string
	UserAgent     string
	RequestID     string
	// PrevHash is the Hash of the event before this one in the chain ("" for the first event ever);
	// Hash the hex SHA-256 of this event's canonical encoding. Both are set by Record.
	PrevHash string
	Hash     string
	// Detail holds the few facts a type needs beyond the fields above (the form of an exchange, the
	// scopes granted, the policy hash of a configuration load, the action and object of an
	// activity). Keys are lower snake_case; values are short strings.
	Detail map[string]string
}
