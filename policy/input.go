package policy

import (
	"net/netip"
	"time"
)

// Input is everything a decision depends on, resolved by the caller. The engine trusts these
// values as given: the caller must have verified the tokens they come from (signature, issuer,
// expiry, revocation) and resolved the subjects to users. Missing values deny.
type Input struct {
	// Now is the time of the decision (the engine reads no clock). Zero denies.
	Now time.Time

	// Actor is the user who wants to act (the subject of the actor token, RFC 8693 §2.1).
	Actor Subject
	// Target is the user to be impersonated (the subject named by the subject token).
	Target Subject

	// ClientID is the OAuth client making the exchange request.
	ClientID string
	// Audiences are the audiences the issued token will carry, after the exchange applied its
	// defaults (RFC 8693 §2.1 audience/resource). An impersonation token must name at least one.
	Audiences []string
	// RequestedScopes are the scopes the issued token would carry, after the exchange applied its
	// defaults (RFC 8693 §2.1 scope; RFC 6749 §3.3). Scope names are case-sensitive.
	RequestedScopes []string

	// Reason is the purpose of the impersonation, free text given by the agent.
	Reason string
	// Ticket is the support ticket reference the impersonation serves.
	Ticket string
	// PurposeFixed marks Reason and Ticket as final for a pre-check ([Engine.Representable]): an
	// access request, whose reason and ticket the exchange will have to repeat. The pre-check then
	// evaluates the reason and ticket rules instead of skipping them, so that a customer is never
	// asked to approve a request that no exchange could use.
	PurposeFixed bool

	// SourceIP is the client address of the request, already resolved through trusted proxies
	// (X-Forwarded-For is the caller's business). The zero value means unknown and denies when
	// networks are configured.
	SourceIP netip.Addr

	// ActorTokenHasAct reports that the actor token already carries an act claim (it is itself a
	// delegation or impersonation token, RFC 8693 §4.1). Always denied: no nested impersonation.
	ActorTokenHasAct bool
	// ActorIsRepresented reports that the actor is the target of an active representation
	// session. Always denied: no nested impersonation.
	ActorIsRepresented bool

	// RequestedSessionTTL is the representation lifetime asked for; zero or negative asks for the
	// maximum. The granted lifetime is capped by Rules.SessionTTL.
	RequestedSessionTTL time.Duration
}

// Subject describes a user taking part in an impersonation, as actor or as target.
type Subject struct {
	// ID is the user's stable identifier (the sub claim). Compared exactly.
	ID string
	// Roles are the user's roles. A target must hold at least one, each ranked by the rules.
	Roles []string
	// Tenant is the user's tenant; empty in a single-tenant deployment.
	Tenant string
	// ImpersonationAllowed is the user's own setting; false (the zero value) means the user opted
	// out, so callers must set it explicitly for targets. Ignored for actors.
	ImpersonationAllowed bool
	// Disabled reports that the account is disabled.
	Disabled bool
	// AMR are the authentication methods of the user's current authentication (OIDC Core §2,
	// RFC 8176). Used for actors.
	AMR []string
	// ACR is the authentication context class of the current authentication. Used for actors.
	ACR string
	// AuthTime is when the user last authenticated (the auth_time claim). Used for actors.
	AuthTime time.Time
}
