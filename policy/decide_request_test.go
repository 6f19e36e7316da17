package policy

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func wantScopes(want ...string) func(*testing.T, Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		if !slices.Equal(d.Obligations.Scopes, want) {
			t.Fatalf("granted scopes = %q; want %q", d.Obligations.Scopes, want)
		}
	}
}

// Rules about the concrete request: purpose, audiences, scopes; consent and obligations.
func TestDecideRequestRules(t *testing.T) {
	t.Parallel()
	runDecideCases(t, []decideCase{
		{
			name:     "fail/missing-reason",
			input:    func(in *Input) { in.Reason = "" },
			wantRule: RuleReason, wantCode: CodeReasonRequired,
		},
		{
			name:     "fail/short-reason-padded-with-spaces",
			input:    func(in *Input) { in.Reason = "   help    " },
			wantRule: RuleReason, wantCode: CodeReasonRequired,
		},
		{
			name:     "fail/reason-with-control-characters",
			input:    func(in *Input) { in.Reason = "customer asked\x1b[2J for help" },
			wantRule: RuleReason, wantCode: CodeReasonInvalid,
		},
		{
			name:     "fail/reason-with-bidi-override",
			input:    func(in *Input) { in.Reason = "customer asked \u202efor help" },
			wantRule: RuleReason, wantCode: CodeReasonInvalid,
		},
		{
			name:     "fail/reason-of-invisible-characters",
			input:    func(in *Input) { in.Reason = strings.Repeat("\u200b", 12) + "\u2060\ufeff\u00ad\u3164\u2800ok" },
			wantRule: RuleReason, wantCode: CodeReasonRequired,
		},
		{
			name:     "fail/reason-too-long",
			input:    func(in *Input) { in.Reason = strings.Repeat("a", DefaultMaxReasonLength+1) },
			wantRule: RuleReason, wantCode: CodeReasonInvalid,
		},
		{
			name:  "ok/reason-not-required",
			rules: func(r *Rules) { r.RequireReason = false },
			input: func(in *Input) { in.Reason = "" },
		},
		{
			name:  "ok/reason-counted-in-characters",
			rules: func(r *Rules) { r.MinReasonLength = 5 },
			input: func(in *Input) { in.Reason = "Überprüfung" },
		},
		{
			name:  "ok/ticket-matches",
			rules: func(r *Rules) { r.RequireTicket = true },
			input: func(in *Input) { in.Ticket = "SUP-1234" },
		},
		{
			name:     "fail/bad-ticket",
			input:    func(in *Input) { in.Ticket = "sup 1234" },
			wantRule: RuleTicket, wantCode: CodeTicketInvalid,
		},
		{
			name:     "fail/ticket-partial-match",
			rules:    func(r *Rules) { r.TicketPattern = `[A-Z]+-[0-9]+` },
			input:    func(in *Input) { in.Ticket = "x SUP-1234 y" },
			wantRule: RuleTicket, wantCode: CodeTicketInvalid,
		},
		{
			name:     "fail/ticket-required-missing",
			rules:    func(r *Rules) { r.RequireTicket = true },
			wantRule: RuleTicket, wantCode: CodeTicketRequired,
		},
		{
			name:     "fail/ticket-too-long-without-pattern",
			rules:    func(r *Rules) { r.TicketPattern = "" },
			input:    func(in *Input) { in.Ticket = strings.Repeat("A", maxTicketLength+1) },
			wantRule: RuleTicket, wantCode: CodeTicketInvalid,
		},
		{
			name:  "ok/no-ticket-not-required",
			input: func(in *Input) { in.Ticket = "" },
		},
		{
			name:     "fail/audience-not-allowed",
			input:    func(in *Input) { in.Audiences = []string{testAudience, "https://payments.example"} },
			wantRule: RuleAudiences, wantCode: CodeAudienceNotAllowed,
		},
		{
			name:     "fail/no-audience",
			input:    func(in *Input) { in.Audiences = nil },
			wantRule: RuleAudiences, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/no-audience-configured",
			rules:    func(r *Rules) { r.AllowedAudiences = nil },
			wantRule: RuleAudiences, wantCode: CodeAudienceNotAllowed,
		},
		{
			name:  "ok/any-audience-wildcard",
			rules: func(r *Rules) { r.AllowedAudiences = []string{"*"} },
			input: func(in *Input) { in.Audiences = []string{"https://other.example"} },
		},
		{
			name:     "fail/blocked-scope-requested",
			input:    func(in *Input) { in.RequestedScopes = []string{"openid", "payments:write"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:     "fail/blocked-scope-by-prefix",
			rules:    func(r *Rules) { r.DeniedScopes = []string{"payments:*"} },
			input:    func(in *Input) { in.RequestedScopes = []string{"payments:refund"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:     "fail/wildcard-scope-requested",
			input:    func(in *Input) { in.RequestedScopes = []string{"*"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:  "ok/scopes-outside-allow-list-dropped",
			rules: func(r *Rules) { r.AllowedScopes = []string{"openid", "orders:*"} },
			input: func(in *Input) {
				in.RequestedScopes = []string{"openid", "profile", "orders:read", "openid"}
			},
			check: wantScopes("openid", "orders:read"),
		},
		{
			name:     "fail/no-requested-scope-allowed",
			rules:    func(r *Rules) { r.AllowedScopes = []string{"orders:read"} },
			input:    func(in *Input) { in.RequestedScopes = []string{"profile"} },
			wantRule: RuleScopes, wantCode: CodeScopeNotAllowed,
		},
		{
			name: "fail/denied-wins-over-allowed",
			rules: func(r *Rules) {
				r.AllowedScopes = []string{"*"}
				r.DeniedScopes = []string{"account:delete"}
			},
			input:    func(in *Input) { in.RequestedScopes = []string{"account:delete"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:  "ok/no-scope-requested",
			input: func(in *Input) { in.RequestedScopes = nil },
			check: wantScopes(),
		},
		{
			name:  "ok/consent-required-by-role",
			rules: func(r *Rules) { r.ConsentRequired.Roles = []string{"customer"} },
			check: func(t *testing.T, d Decision) {
				if !d.ConsentRequired {
					t.Error("consent not required")
				}
			},
		},
		{
			name:  "ok/consent-required-by-tenant",
			rules: func(r *Rules) { r.ConsentRequired.Tenants = []string{"acme"} },
			check: func(t *testing.T, d Decision) {
				if !d.ConsentRequired {
					t.Error("consent not required")
				}
			},
		},
		{
			name: "ok/consent-not-required",
			rules: func(r *Rules) {
				r.ConsentRequired = ConsentRules{Roles: []string{"support"}, Tenants: []string{"globex"}}
			},
			check: func(t *testing.T, d Decision) {
				if d.ConsentRequired {
					t.Error("consent required")
				}
			},
		},
		{
			name:  "ok/obligations-default-caps",
			check: wantTTLs(DefaultAccessTokenTTL, DefaultSessionTTL),
		},
		{
			name:  "ok/session-ttl-capped",
			input: func(in *Input) { in.RequestedSessionTTL = 8 * time.Hour },
			check: wantTTLs(DefaultAccessTokenTTL, DefaultSessionTTL),
		},
		{
			name:  "ok/shorter-session-requested",
			input: func(in *Input) { in.RequestedSessionTTL = 2 * time.Minute },
			check: wantTTLs(2*time.Minute, 2*time.Minute),
		},
		{
			name:  "ok/negative-session-ttl-means-maximum",
			input: func(in *Input) { in.RequestedSessionTTL = -time.Minute },
			check: wantTTLs(DefaultAccessTokenTTL, DefaultSessionTTL),
		},
	})
}

func wantTTLs(access, session time.Duration) func(*testing.T, Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		if d.Obligations.AccessTokenTTL != access || d.Obligations.SessionTTL != session {
			t.Fatalf("obligations = %+v; want access %s, session %s", d.Obligations, access, session)
		}
	}
}
