package policy

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fieldErrors returns the *FieldError values joined in err.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	if j, ok := err.(interface{ Unwrap() []error }); ok { //nolint:errorlint // walking errors.Join
		for _, e := range j.Unwrap() {
			out = append(out, fieldErrors(e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		out = append(out, fe)
	}
	return out
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules func(*Rules)
		// wantKey and wantMsg identify the expected error; both empty when New must succeed.
		wantKey string
		wantMsg string
	}{
		{name: "ok/test-rules"},
		{name: "ok/defaults", rules: func(r *Rules) { *r = DefaultRules() }},
		{
			name: "ok/everything-configured",
			rules: func(r *Rules) {
				r.GlobalRoles = []string{"super_admin"}
				r.BreakGlassRoles = []string{"super_admin"}
				r.ACRLevels = []string{"loa1", "loa2"}
				r.MinACR = "loa2"
				r.AllowedNetworks = []string{"10.0.0.0/8", "192.0.2.1", "::ffff:10.0.0.0/104", "2001:db8::/32"}
				r.AllowedScopes = []string{"openid", "orders:*"}
				r.ConsentRequired = ConsentRules{Roles: []string{"customer"}, Tenants: []string{"bank"}}
				r.CustomRules = []CELRule{{Name: "same-region", Expression: `actor.tenant == target.tenant`}}
			},
		},
		{
			name:    "fail/matrix-unknown-target-role",
			rules:   func(r *Rules) { r.Matrix["support"] = []string{"custmer"} },
			wantKey: "policy.matrix.support[0]", wantMsg: `unknown role "custmer"`,
		},
		{
			name:    "fail/matrix-unknown-actor-role",
			rules:   func(r *Rules) { r.Matrix["helpdesk"] = []string{"customer"} },
			wantKey: "policy.matrix.helpdesk", wantMsg: `unknown role "helpdesk"`,
		},
		{
			name:    "fail/matrix-row-for-non-impersonator",
			rules:   func(r *Rules) { r.Matrix["auditor"] = []string{"customer"} },
			wantKey: "policy.matrix.auditor", wantMsg: "not in policy.impersonator_roles",
		},
		{
			name:    "fail/no-roles",
			rules:   func(r *Rules) { r.RoleRanks = nil; r.Matrix = nil; r.ImpersonatorRoles = nil },
			wantKey: "policy.role_ranks", wantMsg: "at least one role",
		},
		{
			name:    "fail/duplicate-rank",
			rules:   func(r *Rules) { r.RoleRanks = append(r.RoleRanks, "support") },
			wantKey: "policy.role_ranks[5]", wantMsg: `duplicate role "support"`,
		},
		{
			name:    "fail/role-name-with-space",
			rules:   func(r *Rules) { r.RoleRanks = append(r.RoleRanks, "call centre") },
			wantKey: "policy.role_ranks[5]", wantMsg: "invalid role name",
		},
		{
			name:    "fail/impersonator-unknown",
			rules:   func(r *Rules) { r.ImpersonatorRoles = append(r.ImpersonatorRoles, "agent") },
			wantKey: "policy.impersonator_roles[3]", wantMsg: `unknown role "agent"`,
		},
		{
			name:    "fail/global-role-unknown",
			rules:   func(r *Rules) { r.GlobalRoles = []string{"root"} },
			wantKey: "policy.global_roles[0]", wantMsg: "unknown role",
		},
		{
			name:    "fail/break-glass-role-unknown",
			rules:   func(r *Rules) { r.BreakGlassRoles = []string{"root"} },
			wantKey: "policy.break_glass_roles[0]", wantMsg: "unknown role",
		},
		{
			name:    "fail/consent-role-unknown",
			rules:   func(r *Rules) { r.ConsentRequired.Roles = []string{"client"} },
			wantKey: "policy.consent_required.roles[0]", wantMsg: "unknown role",
		},
		{
			name:    "fail/consent-tenant-empty",
			rules:   func(r *Rules) { r.ConsentRequired.Tenants = []string{""} },
			wantKey: "policy.consent_required.tenants[0]", wantMsg: "invalid name",
		},
		{
			name:    "fail/bad-cidr",
			rules:   func(r *Rules) { r.AllowedNetworks = []string{"10.0.0.0/8", "10.0.0.0/33"} },
			wantKey: "policy.allowed_networks[1]", wantMsg: `invalid CIDR "10.0.0.0/33"`,
		},
		{
			name:    "fail/bad-ticket-pattern",
			rules:   func(r *Rules) { r.TicketPattern = `^([A-Z]+-[0-9]+$` },
			wantKey: "policy.ticket_pattern", wantMsg: "invalid regular expression",
		},
		{
			name:    "fail/min-acr-not-in-levels",
			rules:   func(r *Rules) { r.ACRLevels = []string{"loa1", "loa2"}; r.MinACR = "loa3" },
			wantKey: "policy.min_acr", wantMsg: `"loa3" is not in policy.acr_levels`,
		},
		{
			name:    "fail/mfa-required-without-methods",
			rules:   func(r *Rules) { r.MFAMethods = nil },
			wantKey: "policy.mfa_methods", wantMsg: "require_mfa needs",
		},
		{
			name:    "fail/auth-age-zero",
			rules:   func(r *Rules) { r.MaxActorAuthAge = 0 },
			wantKey: "policy.max_actor_auth_age", wantMsg: "must be more than 0",
		},
		{
			name:    "fail/access-token-ttl-too-long",
			rules:   func(r *Rules) { r.AccessTokenTTL = 2 * time.Hour },
			wantKey: "policy.access_token_ttl", wantMsg: "at most 1h0m0s",
		},
		{
			name:    "fail/session-ttl-negative",
			rules:   func(r *Rules) { r.SessionTTL = -time.Minute },
			wantKey: "policy.session_ttl", wantMsg: "must be more than 0",
		},
		{
			name:    "fail/max-reason-below-min",
			rules:   func(r *Rules) { r.MaxReasonLength = 5 },
			wantKey: "policy.max_reason_length", wantMsg: "at least min_reason_length (10)",
		},
		{
			name:    "fail/negative-min-reason",
			rules:   func(r *Rules) { r.MinReasonLength = -1 },
			wantKey: "policy.min_reason_length", wantMsg: "must not be negative",
		},
		{
			name:    "fail/scope-with-space",
			rules:   func(r *Rules) { r.DeniedScopes = []string{"payments write"} },
			wantKey: "policy.denied_scopes[0]", wantMsg: "invalid scope",
		},
		{
			name:    "fail/scope-wildcard-in-middle",
			rules:   func(r *Rules) { r.AllowedScopes = []string{"orders:*:read"} },
			wantKey: "policy.allowed_scopes[0]", wantMsg: "'*' only at the end",
		},
		{
			name:    "fail/client-empty",
			rules:   func(r *Rules) { r.AllowedClients = []string{""} },
			wantKey: "policy.allowed_clients[0]", wantMsg: "invalid name",
		},
		{
			name:    "fail/cost-limit-zero",
			rules:   func(r *Rules) { r.CustomRuleCostLimit = 0 },
			wantKey: "policy.custom_rule_cost_limit", wantMsg: "must be between 1 and",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testRules()
			if tc.rules != nil {
				tc.rules(&r)
			}
			e, err := New(r)
			assertNewError(t, e, err, tc.wantKey, tc.wantMsg)
		})
	}
}

func assertNewError(t *testing.T, e *Engine, err error, wantKey, wantMsg string) {
	t.Helper()
	if wantKey == "" {
		if err != nil || e == nil {
			t.Fatalf("New() = %v, %v; want an engine", e, err)
		}
		return
	}
	if err == nil || e != nil {
		t.Fatalf("New() = %v, %v; want an error for %s", e, err, wantKey)
	}
	if !errors.Is(err, ErrInvalidRules) {
		t.Errorf("error %v does not match ErrInvalidRules", err)
	}
	for _, fe := range fieldErrors(err) {
		if fe.Key == wantKey && strings.Contains(fe.Msg, wantMsg) {
			if !strings.HasPrefix(fe.Error(), wantKey+": ") {
				t.Errorf("Error() = %q does not start with the key", fe.Error())
			}
			return
		}
	}
	t.Fatalf("New() error = %v\nwant key %q with message containing %q", err, wantKey, wantMsg)
}

func TestNewReportsEveryProblem(t *testing.T) {
	t.Parallel()
	r := testRules()
	r.Matrix["support"] = []string{"custmer"}
	r.AllowedNetworks = []string{"nope"}
	r.SessionTTL = 0
	_, err := New(r)
	if got := len(fieldErrors(err)); got != 3 {
		t.Fatalf("got %d field errors, want 3: %v", got, err)
	}
	want := `policy.matrix.support[0]: unknown role "custmer" (not in policy.role_ranks)`
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestNewZeroRulesFails(t *testing.T) {
	t.Parallel()
	if _, err := New(Rules{}); !errors.Is(err, ErrInvalidRules) {
		t.Fatalf("New(Rules{}) = %v; want ErrInvalidRules", err)
	}
}

func TestDefaultRulesAreFresh(t *testing.T) {
	t.Parallel()
	a := DefaultRules()
	a.Matrix["support"] = append(a.Matrix["support"], "admin")
	a.DeniedScopes[0] = "x"
	b := DefaultRules()
	if len(b.Matrix["support"]) != 1 || b.DeniedScopes[0] != "payments:write" {
		t.Fatal("DefaultRules shares state between calls")
	}
}

func TestRuleOrder(t *testing.T) {
	t.Parallel()
	order := RuleOrder()
	if order[0] != RuleEnabled || order[len(order)-1] != RuleConsent || len(order) != len(builtins) {
		t.Fatalf("RuleOrder() = %q", order)
	}
	order[0] = "changed"
	if RuleOrder()[0] != RuleEnabled {
		t.Fatal("RuleOrder returns shared state")
	}
}
