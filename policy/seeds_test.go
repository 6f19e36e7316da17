package policy

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// seedRules combine what the seeds ask for (../shared/seeds/): a call centre on an internal
// network, tickets required, payments and destructive actions blocked.
func seedRules() Rules {
	r := testRules()
	r.AllowedNetworks = []string{"10.0.0.0/8"}
	r.RequireTicket = true
	r.DeniedScopes = []string{"payments:*", "account:delete", "mfa:manage"}
	return r
}

func seedInput() Input {
	in := baseInput()
	in.Ticket = "SUP-42"
	return in
}

// TestSeedCombinations runs the combinations the issue lists from the seeds, each against the
// same rules, and checks the deciding rule and code.
func TestSeedCombinations(t *testing.T) {
	t.Parallel()
	e := mustNew(t, seedRules())
	cases := []struct {
		name     string
		input    func(*Input)
		wantRule string
		wantCode ReasonCode
	}{
		{name: "ok/support-agent-helps-customer"},
		{
			name:     "fail/self",
			input:    func(in *Input) { in.Target.ID = in.Actor.ID; in.Target.Roles = in.Actor.Roles },
			wantRule: RuleSelf, wantCode: CodeSelfImpersonation,
		},
		{
			name: "fail/super-admin",
			input: func(in *Input) {
				in.Actor.Roles = []string{"super_admin"}
				in.Target.Roles = []string{"super_admin"}
			},
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name: "fail/admin-by-admin",
			input: func(in *Input) {
				in.Actor.Roles = []string{"admin"}
				in.Target.Roles = []string{"admin"}
			},
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name: "ok/admin-by-super-admin",
			input: func(in *Input) {
				in.Actor.Roles = []string{"super_admin"}
				in.Target.Roles = []string{"admin"}
			},
		},
		{
			name:     "fail/opted-out-user",
			input:    func(in *Input) { in.Target.ImpersonationAllowed = false },
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name:     "fail/no-mfa",
			input:    func(in *Input) { in.Actor.AMR = []string{"pwd"} },
			wantRule: RuleMFA, wantCode: CodeMFARequired,
		},
		{
			name:     "fail/stale-authentication",
			input:    func(in *Input) { in.Actor.AuthTime = now.Add(-time.Hour) },
			wantRule: RuleAuthAge, wantCode: CodeStaleAuthentication,
		},
		{
			name:     "fail/nested",
			input:    func(in *Input) { in.ActorTokenHasAct = true },
			wantRule: RuleNested, wantCode: CodeNestedImpersonation,
		},
		{
			name:     "fail/other-tenant",
			input:    func(in *Input) { in.Target.Tenant = "globex" },
			wantRule: RuleTenancy, wantCode: CodeCrossTenant,
		},
		{
			name:     "fail/missing-reason",
			input:    func(in *Input) { in.Reason = "" },
			wantRule: RuleReason, wantCode: CodeReasonRequired,
		},
		{
			name:     "fail/bad-ticket",
			input:    func(in *Input) { in.Ticket = "see slack" },
			wantRule: RuleTicket, wantCode: CodeTicketInvalid,
		},
		{
			name:     "fail/outside-network",
			input:    func(in *Input) { in.SourceIP = netip.MustParseAddr("198.51.100.23") },
			wantRule: RuleNetwork, wantCode: CodeNetworkNotAllowed,
		},
		{
			name:     "fail/client-not-allowed",
			input:    func(in *Input) { in.ClientID = "customer-web" },
			wantRule: RuleClients, wantCode: CodeClientNotAllowed,
		},
		{
			name:     "fail/blocked-scope-requested",
			input:    func(in *Input) { in.RequestedScopes = []string{"orders:read", "payments:transfer"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := seedInput()
			if tc.input != nil {
				tc.input(&in)
			}
			d := e.Decide(context.Background(), in)
			assertDecision(t, d, tc.wantRule, tc.wantCode)
		})
	}
}

// TestDecideEvaluatesEveryRule: with several failures the first in RuleOrder decides, and the
// others are still reported.
func TestDecideEvaluatesEveryRule(t *testing.T) {
	t.Parallel()
	r := testRules()
	r.Enabled = false
	in := baseInput()
	in.Target.ID = in.Actor.ID
	in.Actor.AMR = nil
	in.RequestedScopes = []string{"mfa:manage"}
	d := mustNew(t, r).Decide(context.Background(), in)
	assertDecision(t, d, RuleEnabled, CodeImpersonationDisabled)
	for rule, code := range map[string]ReasonCode{
		RuleSelf:   CodeSelfImpersonation,
		RuleMFA:    CodeMFARequired,
		RuleScopes: CodeScopeDenied,
	} {
		wantOutcome(rule, false, code)(t, d)
	}
	wantOutcome(RuleMatrix, true, CodeNone)(t, d)
}

// TestDecideDoesNotAliasInput: the granted scopes are a new slice, so a caller changing its
// request afterwards does not change the decision.
func TestDecideDoesNotAliasInput(t *testing.T) {
	t.Parallel()
	in := baseInput()
	d := mustNew(t, testRules()).Decide(context.Background(), in)
	in.RequestedScopes[0] = "payments:write"
	if d.Obligations.Scopes[0] != "openid" {
		t.Fatalf("granted scopes alias the request: %q", d.Obligations.Scopes)
	}
}
