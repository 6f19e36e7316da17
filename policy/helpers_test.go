package policy

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const (
	testClient   = "support-console"
	testAudience = "https://app.example"
)

// testRules are the defaults, switched on, with one client and one audience allowed.
func testRules() Rules {
	r := DefaultRules()
	r.Enabled = true
	r.AllowedClients = []string{testClient}
	r.AllowedAudiences = []string{testAudience}
	return r
}

// baseInput is allowed under testRules: a support agent with a fresh second factor acting as a
// customer of the same tenant, with a reason, from a private address.
func baseInput() Input {
	return Input{
		Now: now,
		Actor: Subject{
			ID: "agent-1", Roles: []string{"support"}, Tenant: "acme",
			AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-5 * time.Minute),
		},
		Target: Subject{
			ID: "cust-1", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true,
		},
		ClientID:        testClient,
		Audiences:       []string{testAudience},
		RequestedScopes: []string{"openid", "orders:read"},
		Reason:          "customer cannot see their last invoice",
		SourceIP:        netip.MustParseAddr("10.1.2.3"),
	}
}

func mustNew(t testing.TB, r Rules) *Engine {
	t.Helper()
	e, err := New(r)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// decideCase is one row of the per-rule decision tables.
type decideCase struct {
	name  string
	rules func(*Rules) // optional change to testRules
	input func(*Input) // optional change to baseInput
	// wantRule and wantCode are the deciding rule and code; both empty for an allowed decision.
	wantRule string
	wantCode ReasonCode
	// check makes further assertions.
	check func(t *testing.T, d Decision)
}

func runDecideCases(t *testing.T, cases []decideCase) {
	t.Helper()
	for _, tc := range cases {
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
			d := mustNew(t, r).Decide(context.Background(), in)
			assertDecision(t, d, tc.wantRule, tc.wantCode)
			if tc.check != nil {
				tc.check(t, d)
			}
		})
	}
}

func assertDecision(t *testing.T, d Decision, wantRule string, wantCode ReasonCode) {
	t.Helper()
	wantAllowed := wantRule == ""
	if d.Allowed != wantAllowed || d.Rule != wantRule || d.Code != wantCode {
		t.Fatalf("decision = allowed %v, rule %q, code %q (%s); want allowed %v, rule %q, code %q\noutcomes: %+v",
			d.Allowed, d.Rule, d.Code, d.Reason, wantAllowed, wantRule, wantCode, d.Outcomes)
	}
	if d.Reason == "" {
		t.Error("decision has no human-readable reason")
	}
	assertInvariants(t, d)
	err := d.Err()
	if wantAllowed {
		if err != nil {
			t.Errorf("Err() = %v on an allowed decision", err)
		}
		return
	}
	if !errors.Is(err, ErrDenied) || !errors.Is(err, &DeniedError{Code: wantCode}) {
		t.Errorf("Err() = %v; want a DeniedError with code %q", err, wantCode)
	}
	if (d.Obligations.Scopes != nil) || d.Obligations.SessionTTL != 0 || d.Obligations.AccessTokenTTL != 0 {
		t.Errorf("denied decision carries obligations %+v", d.Obligations)
	}
}

// assertInvariants checks what must hold for every decision.
func assertInvariants(t testing.TB, d Decision) {
	t.Helper()
	if len(d.Outcomes) < len(builtins) {
		t.Fatalf("only %d outcomes; every rule must be evaluated", len(d.Outcomes))
	}
	for i, b := range builtins {
		if d.Outcomes[i].Rule != b.name {
			t.Fatalf("outcome %d is %q, want %q", i, d.Outcomes[i].Rule, b.name)
		}
	}
	first := slices.IndexFunc(d.Outcomes, func(o RuleOutcome) bool { return !o.Passed })
	if (first < 0) != d.Allowed {
		t.Fatalf("allowed = %v but first failing outcome index = %d", d.Allowed, first)
	}
	if first >= 0 && (d.Outcomes[first].Rule != d.Rule || d.Outcomes[first].Code != d.Code) {
		t.Fatalf("decision names %s/%s but the first failing rule is %s/%s",
			d.Rule, d.Code, d.Outcomes[first].Rule, d.Outcomes[first].Code)
	}
	for _, o := range d.Outcomes {
		if o.Passed != (o.Code == CodeNone) {
			t.Fatalf("outcome %+v: passed and code disagree", o)
		}
		if o.Detail == "" {
			t.Fatalf("outcome %q has no detail", o.Rule)
		}
	}
	if d.Allowed && d.Obligations.AccessTokenTTL > d.Obligations.SessionTTL {
		t.Fatalf("access token TTL %s exceeds session TTL %s",
			d.Obligations.AccessTokenTTL, d.Obligations.SessionTTL)
	}
}

func wantOutcome(rule string, passed bool, code ReasonCode) func(*testing.T, Decision) {
	return func(t *testing.T, d Decision) {
		t.Helper()
		o, ok := d.Outcome(rule)
		if !ok || o.Passed != passed || o.Code != code {
			t.Fatalf("outcome of %q = %+v (found %v); want passed %v code %q", rule, o, ok, passed, code)
		}
	}
}
