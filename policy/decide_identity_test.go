package policy

import (
	"testing"
	"time"
)

// Rules about who acts as whom: kill switch, attributes, accounts, self, nesting, client,
// impersonator roles, matrix, tenancy, opt-out.
func TestDecideIdentityRules(t *testing.T) {
	t.Parallel()
	roles := func(s *Subject, r ...string) { s.Roles = r }
	runDecideCases(t, []decideCase{
		{name: "ok/customer-by-support"},
		{
			name:     "fail/kill-switch-off",
			rules:    func(r *Rules) { r.Enabled = false },
			wantRule: RuleEnabled, wantCode: CodeImpersonationDisabled,
		},
		{
			name:     "fail/default-rules-disabled",
			rules:    func(r *Rules) { *r = DefaultRules() },
			wantRule: RuleEnabled, wantCode: CodeImpersonationDisabled,
		},
		{
			name:     "fail/missing-now",
			input:    func(in *Input) { in.Now = time.Time{} },
			wantRule: RuleAttributes, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/missing-actor-id",
			input:    func(in *Input) { in.Actor.ID = "" },
			wantRule: RuleAttributes, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/missing-target-id",
			input:    func(in *Input) { in.Target.ID = "" },
			wantRule: RuleAttributes, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/target-without-roles",
			input:    func(in *Input) { in.Target.Roles = nil },
			wantRule: RuleAttributes, wantCode: CodeMissingAttribute,
			check: wantOutcome(RuleMatrix, false, CodeMissingAttribute),
		},
		{
			name:     "fail/actor-disabled",
			input:    func(in *Input) { in.Actor.Disabled = true },
			wantRule: RuleAccountStatus, wantCode: CodeAccountDisabled,
		},
		{
			name:     "fail/target-disabled",
			input:    func(in *Input) { in.Target.Disabled = true },
			wantRule: RuleAccountStatus, wantCode: CodeAccountDisabled,
		},
		{
			name: "fail/self",
			input: func(in *Input) {
				in.Target.ID = in.Actor.ID
			},
			wantRule: RuleSelf, wantCode: CodeSelfImpersonation,
		},
		{
			name:     "fail/nested-actor-token-has-act",
			input:    func(in *Input) { in.ActorTokenHasAct = true },
			wantRule: RuleNested, wantCode: CodeNestedImpersonation,
		},
		{
			name:     "fail/nested-actor-is-represented",
			input:    func(in *Input) { in.ActorIsRepresented = true },
			wantRule: RuleNested, wantCode: CodeNestedImpersonation,
		},
		{
			name:     "fail/client-not-allowed",
			input:    func(in *Input) { in.ClientID = "mobile-app" },
			wantRule: RuleClients, wantCode: CodeClientNotAllowed,
		},
		{
			name:     "fail/client-missing",
			input:    func(in *Input) { in.ClientID = "" },
			wantRule: RuleClients, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/no-client-configured",
			rules:    func(r *Rules) { r.AllowedClients = nil },
			wantRule: RuleClients, wantCode: CodeClientNotAllowed,
		},
		{
			name:  "ok/any-client-wildcard",
			rules: func(r *Rules) { r.AllowedClients = []string{"*"} },
			input: func(in *Input) { in.ClientID = "mobile-app" },
		},
		{
			name:     "fail/customer-as-actor",
			input:    func(in *Input) { roles(&in.Actor, "customer") },
			wantRule: RuleImpersonatorRoles, wantCode: CodeNotImpersonator,
		},
		{
			name:     "fail/actor-without-roles",
			input:    func(in *Input) { roles(&in.Actor) },
			wantRule: RuleImpersonatorRoles, wantCode: CodeNotImpersonator,
		},
		{
			name:  "ok/actor-with-unranked-and-impersonator-roles",
			input: func(in *Input) { roles(&in.Actor, "billing", "customer", "support") },
		},
		{
			name:  "ok/support-by-admin",
			input: func(in *Input) { roles(&in.Actor, "admin"); roles(&in.Target, "support") },
		},
		{
			name:     "fail/support-by-support",
			input:    func(in *Input) { roles(&in.Target, "support") },
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name:     "fail/admin-by-admin",
			input:    func(in *Input) { roles(&in.Actor, "admin"); roles(&in.Target, "admin") },
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name:  "ok/admin-by-super-admin",
			input: func(in *Input) { roles(&in.Actor, "super_admin"); roles(&in.Target, "admin") },
		},
		{
			name:     "fail/super-admin-by-super-admin",
			input:    func(in *Input) { roles(&in.Actor, "super_admin"); roles(&in.Target, "super_admin") },
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name: "ok/super-admin-listed-explicitly",
			rules: func(r *Rules) {
				r.Matrix["super_admin"] = append(r.Matrix["super_admin"], "super_admin")
			},
			input: func(in *Input) { roles(&in.Actor, "super_admin"); roles(&in.Target, "super_admin") },
		},
		{
			name:     "fail/customer-holding-admin-judged-as-admin",
			input:    func(in *Input) { roles(&in.Target, "customer", "admin") },
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name:  "ok/actor-judged-by-union-of-roles",
			input: func(in *Input) { roles(&in.Actor, "support", "admin"); roles(&in.Target, "support") },
		},
		{
			name:     "fail/target-with-unranked-role",
			input:    func(in *Input) { roles(&in.Target, "customer", "realm-admin") },
			wantRule: RuleMatrix, wantCode: CodeUnknownRole,
		},
		{
			name:     "fail/target-with-empty-role",
			input:    func(in *Input) { roles(&in.Target, "", "customer") },
			wantRule: RuleMatrix, wantCode: CodeUnknownRole,
		},
		{
			name:     "fail/other-tenant",
			input:    func(in *Input) { in.Target.Tenant = "globex" },
			wantRule: RuleTenancy, wantCode: CodeCrossTenant,
		},
		{
			name:  "ok/other-tenant-by-global-role",
			rules: func(r *Rules) { r.GlobalRoles = []string{"super_admin"} },
			input: func(in *Input) { roles(&in.Actor, "super_admin"); in.Target.Tenant = "globex" },
		},
		{
			name:  "fail/other-tenant-global-role-row-does-not-cover-target",
			rules: func(r *Rules) { r.GlobalRoles = []string{"support"} },
			input: func(in *Input) {
				roles(&in.Actor, "support", "admin")
				roles(&in.Target, "support")
				in.Target.Tenant = "globex"
			},
			wantRule: RuleTenancy, wantCode: CodeCrossTenant,
		},
		{
			name:     "fail/opted-out",
			input:    func(in *Input) { in.Target.ImpersonationAllowed = false },
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name:  "ok/opt-out-not-honoured",
			rules: func(r *Rules) { r.HonourOptOut = false },
			input: func(in *Input) { in.Target.ImpersonationAllowed = false },
			check: func(t *testing.T, d Decision) {
				if d.Obligations.BreakGlass {
					t.Error("break-glass set without an override")
				}
			},
		},
		{
			name:  "ok/opted-out-break-glass-with-reason",
			rules: func(r *Rules) { r.BreakGlassRoles = []string{"admin"} },
			input: func(in *Input) { roles(&in.Actor, "admin"); in.Target.ImpersonationAllowed = false },
			check: func(t *testing.T, d Decision) {
				if !d.Obligations.BreakGlass {
					t.Error("break-glass override not reported in the obligations")
				}
			},
		},
		{
			name: "fail/opted-out-break-glass-without-reason",
			rules: func(r *Rules) {
				r.BreakGlassRoles = []string{"admin"}
				r.RequireReason = false
			},
			input: func(in *Input) {
				roles(&in.Actor, "admin")
				in.Target.ImpersonationAllowed = false
				in.Reason = ""
			},
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name:     "fail/opted-out-break-glass-role-not-held",
			rules:    func(r *Rules) { r.BreakGlassRoles = []string{"super_admin"} },
			input:    func(in *Input) { in.Target.ImpersonationAllowed = false },
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
	})
}
