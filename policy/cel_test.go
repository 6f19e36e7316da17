package policy

import (
	"context"
	"strings"
	"testing"
)

func TestCustomRulesCompile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rules   []CELRule
		wantKey string
		wantMsg string
	}{
		{
			name:  "ok/every-variable",
			rules: []CELRule{{Name: "all-fields", Expression: allFieldsExpr}},
		},
		{
			name:    "fail/syntax-error-with-position",
			rules:   []CELRule{{Name: "ok-rule", Expression: "true"}, {Name: "bad", Expression: `actor.id == "x" &&`}},
			wantKey: "policy.custom_rules[1](bad).expression",
			wantMsg: "policy.custom_rules[1](bad).expression:1:",
		},
		{
			name:    "fail/misspelled-field",
			rules:   []CELRule{{Name: "typo", Expression: `"support" in actor.rolez`}},
			wantKey: "policy.custom_rules[0](typo).expression",
			wantMsg: "rolez",
		},
		{
			name:    "fail/wrong-type",
			rules:   []CELRule{{Name: "typed", Expression: `target.tenant == 1`}},
			wantKey: "policy.custom_rules[0](typed).expression",
			wantMsg: "no matching overload",
		},
		{
			name:    "fail/undeclared-variable",
			rules:   []CELRule{{Name: "undeclared", Expression: `user.id != ""`}},
			wantKey: "policy.custom_rules[0](undeclared).expression",
			wantMsg: "undeclared reference",
		},
		{
			name:    "fail/not-bool",
			rules:   []CELRule{{Name: "string", Expression: `actor.id`}},
			wantKey: "policy.custom_rules[0](string).expression",
			wantMsg: "must evaluate to bool",
		},
		{
			name:    "fail/bad-name",
			rules:   []CELRule{{Name: "Business Hours", Expression: "true"}},
			wantKey: "policy.custom_rules[0].name",
			wantMsg: "invalid name",
		},
		{
			name:    "fail/missing-name",
			rules:   []CELRule{{Expression: "true"}},
			wantKey: "policy.custom_rules[0].name",
			wantMsg: "invalid name",
		},
		{
			name:    "fail/duplicate-name",
			rules:   []CELRule{{Name: "twice", Expression: "true"}, {Name: "twice", Expression: "false"}},
			wantKey: "policy.custom_rules[1].name",
			wantMsg: `duplicate name "twice"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testRules()
			r.CustomRules = tc.rules
			e, err := New(r)
			assertNewError(t, e, err, tc.wantKey, tc.wantMsg)
		})
	}
}

// allFieldsExpr reads every variable and field; it is true for baseInput.
const allFieldsExpr = `actor.id == "agent-1" && actor.role == "support" && "support" in actor.roles &&
	actor.tenant == target.tenant && !actor.disabled && "otp" in actor.amr && actor.acr == "" &&
	request.now - actor.auth_time < duration("10m") &&
	target.id == "cust-1" && target.role == "customer" && target.impersonation_allowed &&
	target.amr.size() == 0 && target.auth_time < actor.auth_time &&
	request.client_id == "support-console" && request.audiences == ["https://app.example"] &&
	request.scopes.exists(s, s == "openid") && request.reason.size() > 10 && request.ticket == "" &&
	request.source_ip.startsWith("10.") && !request.actor_token_has_act &&
	!request.actor_is_represented && request.requested_session_ttl == duration("0s") &&
	!request.precheck && request.now.getHours() == 15`

func TestCustomRulesDecide(t *testing.T) {
	t.Parallel()
	heavy := `[1,2,3,4,5,6,7,8,9,10].map(x, [1,2,3,4,5,6,7,8,9,10].map(y, x * y)).size() == 10`
	custom := func(limit uint64, rules ...CELRule) func(*Rules) {
		return func(r *Rules) {
			r.CustomRules = rules
			if limit > 0 {
				r.CustomRuleCostLimit = limit
			}
		}
	}
	runDecideCases(t, []decideCase{
		{
			name:  "ok/every-variable",
			rules: custom(0, CELRule{Name: "all-fields", Expression: allFieldsExpr}),
			check: wantOutcome("custom:all-fields", true, CodeNone),
		},
		{
			name:  "fail/false-with-reason",
			rules: custom(0, CELRule{Name: "vip", Expression: `target.tenant != "acme"`, Reason: "acme is handled by its own team"}),
			check: func(t *testing.T, d Decision) {
				if d.Reason != "acme is handled by its own team" {
					t.Errorf("reason = %q", d.Reason)
				}
			},
			wantRule: "custom:vip", wantCode: CodeCustomRule,
		},
		{
			name: "fail/first-failing-custom-rule-decides",
			rules: custom(0,
				CELRule{Name: "a", Expression: "true"},
				CELRule{Name: "b", Expression: "false"},
				CELRule{Name: "c", Expression: "false"}),
			wantRule: "custom:b", wantCode: CodeCustomRule,
			check: wantOutcome("custom:c", false, CodeCustomRule),
		},
		{
			name:     "fail/builtin-rule-precedes-custom",
			rules:    custom(0, CELRule{Name: "never", Expression: "false"}),
			input:    func(in *Input) { in.Target.Tenant = "globex" },
			wantRule: RuleTenancy, wantCode: CodeCrossTenant,
			check: wantOutcome("custom:never", false, CodeCustomRule),
		},
		{
			name:     "fail/runtime-error",
			rules:    custom(0, CELRule{Name: "index", Expression: `request.audiences[3] == "x"`}),
			wantRule: "custom:index", wantCode: CodeCustomRule,
		},
		{
			name:     "fail/dyn-not-bool",
			rules:    custom(0, CELRule{Name: "dyn", Expression: `dyn(actor.id)`}),
			wantRule: "custom:dyn", wantCode: CodeCustomRule,
		},
		{
			name:     "fail/cost-limit-exceeded",
			rules:    custom(50, CELRule{Name: "heavy", Expression: heavy}),
			wantRule: "custom:heavy", wantCode: CodeCustomRule,
			check: func(t *testing.T, d Decision) {
				if !strings.Contains(d.Reason, "cost") {
					t.Errorf("reason %q does not mention the cost limit", d.Reason)
				}
			},
		},
		{
			name:  "ok/within-cost-limit",
			rules: custom(0, CELRule{Name: "heavy", Expression: heavy}),
		},
		{
			name:  "ok/nil-slices",
			rules: custom(0, CELRule{Name: "sizes", Expression: `target.amr.size() == 0 && request.scopes.size() == 0`}),
			input: func(in *Input) { in.Target.AMR = nil; in.RequestedScopes = nil },
		},
	})
}

func TestCustomRuleHonoursContext(t *testing.T) {
	t.Parallel()
	r := testRules()
	r.CustomRules = []CELRule{{Name: "loop", Expression: `[1,2,3,4,5,6,7,8,9,10].map(x, [1,2,3,4,5,6,7,8,9,10].map(y, x * y)).size() == 10`}}
	e := mustNew(t, r)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d := e.Decide(ctx, baseInput())
	assertDecision(t, d, "custom:loop", CodeCustomRule)
	if d := e.Decide(context.Background(), baseInput()); !d.Allowed {
		t.Fatalf("not allowed with a live context: %s", d.Reason)
	}
}
