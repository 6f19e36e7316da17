package policy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRepresentable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		rules       func(*Rules)
		input       func(*Input)
		wantRule    string
		wantCode    ReasonCode
		wantConsent bool
		wantGlass   bool
	}{
		{
			name:  "ok/without-request-parameters",
			input: func(in *Input) { *in = Input{Now: in.Now, Actor: in.Actor, Target: in.Target, SourceIP: in.SourceIP} },
		},
		{
			name:        "ok/marks-consent-needed",
			rules:       func(r *Rules) { r.ConsentRequired.Roles = []string{"customer"} },
			input:       func(in *Input) { in.Reason = "" },
			wantConsent: true,
		},
		{
			name:      "ok/opted-out-with-break-glass-role",
			rules:     func(r *Rules) { r.BreakGlassRoles = []string{"support"} },
			input:     func(in *Input) { in.Target.ImpersonationAllowed = false; in.Reason = "" },
			wantGlass: true,
		},
		{
			name:  "ok/short-reason-skipped",
			input: func(in *Input) { in.Reason = "short" },
		},
		{
			name:     "fail/purpose-fixed-short-reason",
			input:    func(in *Input) { in.Reason, in.PurposeFixed = "short", true },
			wantRule: RuleReason, wantCode: CodeReasonRequired,
		},
		{
			name:     "fail/purpose-fixed-bad-ticket",
			input:    func(in *Input) { in.Ticket, in.PurposeFixed = "SUP-1\nforged", true },
			wantRule: RuleTicket, wantCode: CodeTicketInvalid,
		},
		{
			name:  "fail/purpose-fixed-break-glass-short-reason",
			rules: func(r *Rules) { r.BreakGlassRoles = []string{"support"}; r.RequireReason = false },
			input: func(in *Input) {
				in.Target.ImpersonationAllowed, in.Reason, in.PurposeFixed = false, "short", true
			},
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name: "ok/custom-purpose-rule-skipped-without-fixed-purpose",
			rules: func(r *Rules) {
				r.CustomRules = []CELRule{{Name: "ticket-prefix", Expression: `(request.precheck && !request.purpose_fixed) || request.ticket.startsWith("SUP-")`}}
			},
			input: func(in *Input) { in.Ticket = "X-1" },
		},
		{
			name: "fail/custom-purpose-rule-with-fixed-purpose",
			rules: func(r *Rules) {
				r.CustomRules = []CELRule{{Name: "ticket-prefix", Expression: `(request.precheck && !request.purpose_fixed) || request.ticket.startsWith("SUP-")`}}
			},
			input:    func(in *Input) { in.Ticket, in.PurposeFixed = "X-1", true },
			wantRule: "custom:ticket-prefix", wantCode: CodeCustomRule,
		},
		{
			name:     "fail/opted-out",
			input:    func(in *Input) { in.Target.ImpersonationAllowed = false },
			wantRule: RuleOptOut, wantCode: CodeTargetOptedOut,
		},
		{
			name:     "fail/admin-by-admin",
			input:    func(in *Input) { in.Actor.Roles = []string{"admin"}; in.Target.Roles = []string{"admin"} },
			wantRule: RuleMatrix, wantCode: CodeRoleNotAllowed,
		},
		{
			name:     "fail/stale-authentication-still-checked",
			input:    func(in *Input) { in.Actor.AuthTime = now.Add(-DefaultMaxActorAuthAge * 2) },
			wantRule: RuleAuthAge, wantCode: CodeStaleAuthentication,
		},
		{
			name: "ok/custom-rule-guarded-by-precheck",
			rules: func(r *Rules) {
				r.CustomRules = []CELRule{{Name: "ticket-prefix", Expression: `request.precheck || request.ticket.startsWith("SUP-")`}}
			},
		},
		{
			name: "fail/custom-rule-not-guarded",
			rules: func(r *Rules) {
				r.CustomRules = []CELRule{{Name: "ticket-prefix", Expression: `request.ticket.startsWith("SUP-")`}}
			},
			wantRule: "custom:ticket-prefix", wantCode: CodeCustomRule,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := testRules()
			if tc.rules != nil {
				tc.rules(&r)
			}
			in := baseInput()
			if tc.input != nil {
				tc.input(&in)
			}
			e := mustNew(t, r)
			d := e.Representable(context.Background(), in)
			assertDecision(t, d, tc.wantRule, tc.wantCode)
			if !d.Precheck {
				t.Error("pre-check decision not marked Precheck")
			}
			if d.ConsentRequired != tc.wantConsent {
				t.Errorf("ConsentRequired = %v; want %v", d.ConsentRequired, tc.wantConsent)
			}
			if d.Allowed && d.Obligations.BreakGlass != tc.wantGlass {
				t.Errorf("BreakGlass = %v; want %v", d.Obligations.BreakGlass, tc.wantGlass)
			}
			for _, rule := range []string{RuleClients, RuleReason, RuleTicket, RuleAudiences, RuleScopes} {
				if in.PurposeFixed && (rule == RuleReason || rule == RuleTicket) {
					if o, _ := d.Outcome(rule); o.Skipped {
						t.Errorf("rule %q skipped though the purpose is fixed", rule)
					}
					continue
				}
				if o, _ := d.Outcome(rule); !o.Skipped || !o.Passed {
					t.Errorf("request-bound rule %q not skipped: %+v", rule, o)
				}
			}
			// The same input through Decide is a full decision, never marked Precheck.
			if full := e.Decide(context.Background(), in); full.Precheck {
				t.Error("Decide returned a Precheck decision")
			}
		})
	}
}

func TestDeniedError(t *testing.T) {
	t.Parallel()
	in := baseInput()
	in.Actor.AMR = nil
	err := mustNew(t, testRules()).Decide(context.Background(), in).Err()

	var de *DeniedError
	if !errors.As(err, &de) || de.Code != CodeMFARequired || de.Rule != RuleMFA || de.Reason == "" {
		t.Fatalf("Err() = %#v; want a DeniedError for mfa", err)
	}
	if !errors.Is(err, ErrDenied) || !errors.Is(err, &DeniedError{}) || !errors.Is(err, &DeniedError{Code: CodeMFARequired}) {
		t.Error("errors.Is does not match the denial")
	}
	if errors.Is(err, &DeniedError{Code: CodeStaleAuthentication}) || errors.Is(err, ErrInvalidRules) {
		t.Error("errors.Is matches a different code or sentinel")
	}
	if got := err.Error(); !strings.Contains(got, "mfa_required") || !strings.HasPrefix(got, "policy: mfa:") {
		t.Errorf("Error() = %q", got)
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("denied", "err", de)
	if !strings.Contains(buf.String(), "err.code=mfa_required") {
		t.Errorf("LogValue not used: %s", buf.String())
	}
}
