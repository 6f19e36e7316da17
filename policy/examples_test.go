package policy

import (
	"context"
	"net/netip"
	"testing"
	"time"
)

// The two worked examples of docs/policy.md, as Go values (keep them in step with the YAML), and the
// behaviour the document claims for them. The bank's opening-hours rule uses the fixed offset +01:00
// here instead of Europe/Berlin so that the test does not depend on the machine's zone database.

func bankRules() Rules {
	return Rules{
		Enabled:           true,
		RoleRanks:         []string{"customer", "agent", "supervisor", "auditor", "admin", "super_admin"},
		ImpersonatorRoles: []string{"agent", "supervisor"},
		Matrix: map[string][]string{
			"agent":      {"customer"},
			"supervisor": {"customer", "agent"},
		},
		RequireMFA:       true,
		MFAMethods:       []string{"hwk", "otp"},
		MaxActorAuthAge:  10 * time.Minute,
		HonourOptOut:     true,
		BreakGlassRoles:  []string{"supervisor"},
		RequireReason:    true,
		MinReasonLength:  20,
		MaxReasonLength:  256,
		RequireTicket:    true,
		TicketPattern:    `INC[0-9]{7}`,
		AllowedNetworks:  []string{"10.20.0.0/16", "2001:db8:20::/48"},
		AllowedClients:   []string{"callcentre-desktop"},
		AllowedAudiences: []string{"https://online.bank.example"},
		ConsentRequired:  ConsentRules{Roles: []string{"customer"}},
		AccessTokenTTL:   2 * time.Minute,
		SessionTTL:       30 * time.Minute,
		AllowedScopes:    []string{"openid", "profile", "accounts:read", "cards:read", "cards:freeze", "statements:*"},
		DeniedScopes:     []string{"payments:*", "transfers:*", "beneficiaries:*", "account:delete", "mfa:manage"},
		CustomRules: []CELRule{{
			Name: "opening-hours",
			Expression: `request.now.getDayOfWeek("+01:00") in [1, 2, 3, 4, 5] &&
				request.now.getHours("+01:00") >= 8 && request.now.getHours("+01:00") < 20`,
			Reason: "representation is only possible during call-centre opening hours",
		}},
		CustomRuleCostLimit: DefaultCustomRuleCostLimit,
	}
}

func saasRules() Rules {
	return Rules{
		Enabled:           true,
		RoleRanks:         []string{"customer", "support", "auditor", "admin", "super_admin"},
		ImpersonatorRoles: []string{"support", "admin", "super_admin"},
		Matrix: map[string][]string{
			"support":     {"customer"},
			"admin":       {"customer", "support"},
			"super_admin": {"customer", "support", "admin"},
		},
		GlobalRoles:      []string{"support", "admin", "super_admin"},
		RequireMFA:       true,
		MFAMethods:       []string{"mfa", "otp", "hwk"},
		MaxActorAuthAge:  15 * time.Minute,
		HonourOptOut:     true,
		RequireReason:    true,
		MinReasonLength:  10,
		MaxReasonLength:  DefaultMaxReasonLength,
		TicketPattern:    `[A-Z]+-[0-9]+`,
		AllowedClients:   []string{"support-console"},
		AllowedAudiences: []string{"https://app.saas.example", "https://api.saas.example"},
		ConsentRequired:  ConsentRules{Tenants: []string{"bigco"}},
		AccessTokenTTL:   5 * time.Minute,
		SessionTTL:       time.Hour,
		DeniedScopes:     []string{"payments:*", "billing:*", "api-keys:*", "account:delete", "mfa:manage"},
		CustomRules: []CELRule{{
			Name:       "enterprise-needs-ticket",
			Expression: `(request.precheck && !request.purpose_fixed) || !target.tenant.startsWith("ent-") || request.ticket != ""`,
			Reason:     "tenants on the enterprise plan require a ticket reference",
		}},
		CustomRuleCostLimit: DefaultCustomRuleCostLimit,
	}
}

func TestWorkedExampleBank(t *testing.T) {
	t.Parallel()
	e := mustNew(t, bankRules())
	weekday := time.Date(2026, 3, 11, 10, 0, 0, 0, time.UTC) // a Wednesday, 11:00 in +01:00
	base := func() Input {
		return Input{
			Now: weekday,
			Actor: Subject{ID: "agent-7", Roles: []string{"agent"}, AMR: []string{"hwk"},
				AuthTime: weekday.Add(-3 * time.Minute)},
			Target:          Subject{ID: "c-1001", Roles: []string{"customer"}, ImpersonationAllowed: true},
			ClientID:        "callcentre-desktop",
			Audiences:       []string{"https://online.bank.example"},
			RequestedScopes: []string{"openid", "accounts:read"},
			Reason:          "customer reports a blocked card at the ATM",
			Ticket:          "INC0001234",
			SourceIP:        netip.MustParseAddr("10.20.3.4"),
		}
	}
	tests := []struct {
		name     string
		input    func(*Input)
		wantRule string
		wantCode ReasonCode
	}{
		{name: "ok/allowed-with-consent"},
		{
			name:     "fail/payment-scope",
			input:    func(in *Input) { in.RequestedScopes = []string{"accounts:read", "payments:sepa"} },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:     "fail/no-ticket",
			input:    func(in *Input) { in.Ticket = "" },
			wantRule: RuleTicket, wantCode: CodeTicketRequired,
		},
		{
			name:     "fail/home-network",
			input:    func(in *Input) { in.SourceIP = netip.MustParseAddr("192.0.2.10") },
			wantRule: RuleNetwork, wantCode: CodeNetworkNotAllowed,
		},
		{
			name:     "fail/sunday",
			input:    func(in *Input) { in.Now = weekday.AddDate(0, 0, 4); in.Actor.AuthTime = in.Now },
			wantRule: "custom:opening-hours", wantCode: CodeCustomRule,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := base()
			if tc.input != nil {
				tc.input(&in)
			}
			d := e.Decide(context.Background(), in)
			assertDecision(t, d, tc.wantRule, tc.wantCode)
			if d.Allowed {
				if !d.ConsentRequired {
					t.Error("consent not required for a customer")
				}
				if d.Obligations.AccessTokenTTL != 2*time.Minute || d.Obligations.SessionTTL != 30*time.Minute {
					t.Errorf("obligations = %+v", d.Obligations)
				}
			}
		})
	}
}

func TestWorkedExampleSaaS(t *testing.T) {
	t.Parallel()
	e := mustNew(t, saasRules())
	base := func() Input {
		return Input{
			Now: now,
			Actor: Subject{ID: "sup-3", Roles: []string{"support"}, Tenant: "internal", AMR: []string{"otp"},
				AuthTime: now.Add(-time.Minute)},
			Target:          Subject{ID: "u-9", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
			ClientID:        "support-console",
			Audiences:       []string{"https://app.saas.example"},
			RequestedScopes: []string{"openid", "orders:read"},
			Reason:          "dashboard shows no orders",
		}
	}
	tests := []struct {
		name        string
		input       func(*Input)
		wantRule    string
		wantCode    ReasonCode
		wantConsent bool
	}{
		{name: "ok/cross-tenant-support"},
		{
			name:     "fail/billing-scope",
			input:    func(in *Input) { in.RequestedScopes = append(in.RequestedScopes, "billing:write") },
			wantRule: RuleScopes, wantCode: CodeScopeDenied,
		},
		{
			name:     "fail/opted-out-no-break-glass",
			input:    func(in *Input) { in.Target.ImpersonationAllowed = false },
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name:        "ok/bigco-needs-consent",
			input:       func(in *Input) { in.Target.Tenant = "bigco" },
			wantConsent: true,
		},
		{
			name:     "fail/enterprise-without-ticket",
			input:    func(in *Input) { in.Target.Tenant = "ent-globex" },
			wantRule: "custom:enterprise-needs-ticket", wantCode: CodeCustomRule,
		},
		{
			name:  "ok/enterprise-with-ticket",
			input: func(in *Input) { in.Target.Tenant = "ent-globex"; in.Ticket = "SUP-77" },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in := base()
			if tc.input != nil {
				tc.input(&in)
			}
			d := e.Decide(context.Background(), in)
			assertDecision(t, d, tc.wantRule, tc.wantCode)
			if d.ConsentRequired != tc.wantConsent {
				t.Errorf("ConsentRequired = %v; want %v", d.ConsentRequired, tc.wantConsent)
			}
		})
	}
}
