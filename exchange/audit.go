package exchange

import (
	"context"
	"time"
)

// Audit receives one event per token-exchange request, granted or denied. The audit package
// (a later issue) provides the durable implementation.
//
// Record's error matters only for grants: when recording a grant fails, the exchange fails and
// undoes what it wrote (the grant's tokens are revoked, a representation it started is aborted),
// so nothing is issued without its audit record. Failures to record a denial are logged.
type Audit interface {
	Record(ctx context.Context, e Event) error
}

// AuditQueuer is an Audit that can also queue an event now and wait for it later: Queue puts e
// in line before it returns, every event recorded or queued after that is recorded after it, and
// wait (to be called once) returns what Record would have. The representation service queues a
// start's event this way, so that the exchange's grant event, recorded through the same Audit,
// keeps the trail's order without waiting for the start's event first. cmd wires the audit trail,
// which implements it.
type AuditQueuer interface {
	Audit
	Queue(ctx context.Context, e Event) (wait func() error)
}

// Event types.
const (
	EventGranted      = "token_exchange.granted"
	EventDenied       = "token_exchange.denied"
	EventPolicyDryRun = "policy.dry_run"
)

// Forms of exchange, as in [Event.Form].
const (
	FormDownscoping   = "downscoping"
	FormDelegation    = "delegation"
	FormImpersonation = "impersonation"
)

// Event is one audit record of an exchange. It never contains a token.
type Event struct {
	Type string    `json:"type"` // EventGranted or EventDenied
	Time time.Time `json:"time"`
	Form string    `json:"form,omitempty"` // FormDownscoping, FormDelegation or FormImpersonation; empty if unknown
	// Actor is the acting party (the actor token's sub), ActorIssuer its issuer when not actas.
	Actor       string `json:"actor,omitempty"`
	ActorIssuer string `json:"actor_issuer,omitempty"`
	// Target is the subject of the issued token (the subject token's sub, or the impersonated user).
	Target   string `json:"target,omitempty"`
	ClientID string `json:"client_id"`
	// Decision is "allow" or "deny"; Rule and ReasonCode say why a denial happened (a policy rule
	// and code, or "exchange" and an exchange code); Error is the OAuth error code sent.
	Decision   string `json:"decision"`
	Rule       string `json:"rule,omitempty"`
	ReasonCode string `json:"reason_code,omitempty"`
	Error      string `json:"error,omitempty"`
	// RepresentationID is the representation session of an impersonation (or of the subject token);
	// Joined reports that an active session was joined.
	RepresentationID string `json:"representation_id,omitempty"`
	Joined           bool   `json:"joined,omitempty"`
	BreakGlass       bool   `json:"break_glass,omitempty"`
	// RequestID is the HTTP request id; GrantID the fosite request id of the issued grant.
	RequestID string `json:"request_id,omitempty"`
	GrantID   string `json:"grant_id,omitempty"`
	// Reason and Ticket are the impersonation purpose as given.
	Reason    string   `json:"reason,omitempty"`
	Ticket    string   `json:"ticket,omitempty"`
	Scopes    []string `json:"scopes,omitempty"`
	Audiences []string `json:"audiences,omitempty"`
	SourceIP  string   `json:"source_ip,omitempty"`
	// ConsentID names the consent grant involved; Detail holds further short facts of the event
	// (lower snake_case keys), e.g. who stopped a representation.
	ConsentID string            `json:"consent_id,omitempty"`
	Detail    map[string]string `json:"detail,omitempty"`
}

// NopAudit discards every event. It is the default until the audit package is wired.
type NopAudit struct{}

var _ Audit = NopAudit{}

// Record does nothing.
func (NopAudit) Record(context.Context, Event) error { return nil }
