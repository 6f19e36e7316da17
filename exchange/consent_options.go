package exchange

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// ConsentStore is the part of storage.Store that the consent workflow uses; *storage.Store
// satisfies it.
type ConsentStore interface {
	GetUser(ctx context.Context, id string) (*storage.User, error)
	CreateRecord(ctx context.Context, kind, id string, v any, ttl time.Duration) error
	GetRecord(ctx context.Context, kind, id string, out any) error
	UpdateRecord(ctx context.Context, kind, id string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error
	DeleteRecord(ctx context.Context, kind, id string) error
	DeleteRecordIf(ctx context.Context, kind, id string, pred func(cur []byte) (bool, error)) error
	AddToIndex(ctx context.Context, kind, id string, ttl time.Duration, members ...string) error
	IndexMembers(ctx context.Context, kind, id string) ([]string, error)
	RemoveFromIndex(ctx context.Context, kind, id string, members ...string) error
}

var _ ConsentStore = (*storage.Store)(nil)

// Representer is the policy pre-check that decides whether an agent may ask a target at all;
// *policy.Engine satisfies it.
type Representer interface {
	Representable(ctx context.Context, in policy.Input) policy.Decision
}

// ConsentRepresentations is what the consent workflow needs from the representation service
// (issue 6): whether a representation is active, ending one (and revoking its tokens) when its
// grant is revoked or the target ends it on the account page, and the target's active ones for
// that page. cmd adapts the representation service to it.
type ConsentRepresentations interface {
	// Active returns nil while the representation is active (see [Representations.Active]).
	Active(ctx context.Context, id string) error
	// Stop ends the representation id and revokes every token issued under it; by is the user
	// who ended it, reason an End* reason. Stopping one that has already ended is not an error.
	Stop(ctx context.Context, id, by, reason string) error
	// ActiveForTarget lists the target's active representations.
	ActiveForTarget(ctx context.Context, target string) ([]RepresentationSummary, error)
}

// RepresentationSummary is an active representation as the target sees it on the account page.
type RepresentationSummary struct {
	ID        string
	Actor     string
	Target    string
	ClientID  string
	Reason    string
	Ticket    string
	ConsentID string
	StartedAt time.Time
	ExpiresAt time.Time
}

// AccountLogin is the login service as the account page uses it; *login.Service satisfies it.
type AccountLogin interface {
	// Current returns the browser's login session, or an error matching login.ErrNoSession.
	Current(r *http.Request) (*storage.LoginSession, error)
	// LoginURL is the login page for a return_to below /account/.
	LoginURL(returnTo, prompt, loginHint string) string
}

// ConsentOptions configure a [ConsentService]. Store and Issuer are required; Login is required
// for the account page.
type ConsentOptions struct {
	Store ConsentStore
	// Issuer is actas's issuer URL: its path prefixes the account page, and its origin is the
	// only one trusted to post the page's forms.
	Issuer string
	// Login knows the browser's user on the account page (*login.Service).
	Login AccountLogin
	// Policy, when set, must find the target representable by the agent (policy pre-check)
	// before a request is accepted, so that an agent cannot ask users it may never impersonate.
	Policy Representer
	// Representations ends representations and lists the active ones; optional until the
	// representation service is wired (no representation can exist without it).
	Representations ConsentRepresentations
	// MaxDuration caps the requested duration: the policy's session cap (policy.session_ttl).
	// Default 1 hour.
	MaxDuration time.Duration
	// RequestTTL is how long a request waits for an answer; default 24 hours.
	RequestTTL time.Duration
	// Retention is how long a finished request stays visible; default 30 days.
	Retention time.Duration
	// MeScopes are the scopes a target's token needs for /api/v1/me/...; default none (any access
	// token that actas issued for itself to the user, never one carrying act).
	MeScopes []string
	// ListLimit bounds the requests returned by one list; default 100.
	ListLimit int
	// SecretText reports free text shaped like a credential (audit.LooksLikeSecret): a request
	// whose reason or ticket is such text is refused as invalid input. nil: not checked.
	SecretText func(string) bool
	// Audit receives the consent.* events; default NopAudit. Logger default slog.Default().
	Audit  Audit
	Logger *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Defaults of ConsentOptions.
const (
	DefaultConsentMaxDuration = time.Hour
	DefaultConsentRequestTTL  = 24 * time.Hour
	DefaultConsentRetention   = 30 * 24 * time.Hour
	minConsentDuration        = time.Minute
	defaultConsentListLimit   = 100
)
