package policy

import (
	"errors"
	"net/netip"
	"regexp"
	"time"
)

// ErrInvalidRules matches (with [errors.Is]) every error returned by [New].
var ErrInvalidRules = errors.New("policy: invalid rules")

// FieldError is one invalid configuration value. Its Key is the full configuration key, such as
// "policy.matrix.support[0]"; New joins all of them with [errors.Join].
type FieldError struct {
	Key string
	Msg string
}

// Error returns "<key>: <message>".
func (e *FieldError) Error() string { return e.Key + ": " + e.Msg }

// Is matches [ErrInvalidRules].
func (e *FieldError) Is(target error) bool { return target == ErrInvalidRules }

// Engine is a validated, compiled [Rules]. It is immutable and safe for concurrent use.
type Engine struct {
	enabled bool

	rank         map[string]int
	impersonator set
	matrix       map[string]set
	global       set

	requireMFA bool
	mfaMethods set
	minACR     int // index into acrRank; -1 when acr is not used
	acrRank    map[string]int
	maxAuthAge time.Duration

	honourOptOut bool
	breakGlass   set

	requireReason bool
	minReason     int
	maxReason     int

	requireTicket bool
	ticket        *regexp.Regexp // nil: any ticket

	networks       []netip.Prefix
	networkDetails []string // pass details, one per network

	clients     set
	anyClient   bool
	audiences   set
	anyAudience bool

	consentRoles   set
	consentTenants set

	accessTTL  time.Duration
	sessionTTL time.Duration

	allowedScopes scopeMatcher
	deniedScopes  scopeMatcher

	custom []customRule
}

// Bounds enforced by [New] and by the engine.
const (
	maxAuthAgeLimit   = 24 * time.Hour
	maxAccessTTL      = time.Hour
	maxSessionTTL     = 24 * time.Hour
	maxReasonLimit    = 1024
	maxTicketLength   = 128
	maxCostLimit      = 1_000_000
	authTimeSkew      = time.Minute // tolerated clock skew for an auth_time in the future
	detailValueLength = 64          // longest request value quoted in a detail
)

// New validates r and compiles it into an Engine. It checks every field and returns all problems
// at once, joined; each is a *[FieldError] naming its key (e.g. `policy.matrix.support[0]: unknown
// role "custmer"`) and matches [ErrInvalidRules]. Custom CEL rules are parsed and type-checked
// here, so a bad expression stops start-up with its key and position.
func New(r Rules) (*Engine, error) {
	v := &validator{}
	e := &Engine{
		enabled:       r.Enabled,
		requireMFA:    r.RequireMFA,
		maxAuthAge:    r.MaxActorAuthAge,
		honourOptOut:  r.HonourOptOut,
		requireReason: r.RequireReason,
		minReason:     r.MinReasonLength,
		maxReason:     r.MaxReasonLength,
		requireTicket: r.RequireTicket,
		accessTTL:     r.AccessTokenTTL,
		sessionTTL:    r.SessionTTL,
		minACR:        -1,
	}
	e.compileRoles(v, r)
	e.compileAssurance(v, r)
	e.compilePurpose(v, r)
	e.compileRequest(v, r)
	e.compileLifetimes(v, r)
	e.custom = compileCustomRules(v, r.CustomRules, r.CustomRuleCostLimit)
	if err := v.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// Enabled reports whether impersonation is switched on at all (policy.enabled).
func (e *Engine) Enabled() bool { return e.enabled }

// Impersonator reports whether a user with roles may impersonate anyone at all: impersonation is
// enabled and one of the roles has a row in the matrix. It says nothing about any one target.
func (e *Engine) Impersonator(roles []string) bool {
	if !e.enabled {
		return false
	}
	for _, r := range roles {
		if len(e.matrix[r]) > 0 {
			return true
		}
	}
	return false
}

// set is a set of strings.
type set map[string]struct{}

func (s set) has(k string) bool {
	_, ok := s[k]
	return ok
}

func newSet(items []string) set {
	s := make(set, len(items))
	for _, it := range items {
		s[it] = struct{}{}
	}
	return s
}
