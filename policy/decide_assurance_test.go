package policy

import (
	"net/netip"
	"testing"
	"time"
)

// Rules about the actor's assurance and the request's network.
func TestDecideAssuranceRules(t *testing.T) {
	t.Parallel()
	runDecideCases(t, []decideCase{
		{
			name:     "fail/no-mfa",
			input:    func(in *Input) { in.Actor.AMR = []string{"pwd"} },
			wantRule: RuleMFA, wantCode: CodeMFARequired,
		},
		{
			name:     "fail/no-amr-at-all",
			input:    func(in *Input) { in.Actor.AMR = nil },
			wantRule: RuleMFA, wantCode: CodeMFARequired,
		},
		{
			name:  "ok/hardware-key",
			input: func(in *Input) { in.Actor.AMR = []string{"hwk"} },
		},
		{
			name:  "ok/mfa-not-required",
			rules: func(r *Rules) { r.RequireMFA = false },
			input: func(in *Input) { in.Actor.AMR = []string{"pwd"} },
		},
		{
			name: "ok/acr-above-min",
			rules: func(r *Rules) {
				r.ACRLevels = []string{"bronze", "silver", "gold"}
				r.MinACR = "silver"
			},
			input: func(in *Input) { in.Actor.AMR = []string{"pwd"}; in.Actor.ACR = "gold" },
		},
		{
			name: "fail/acr-below-min",
			rules: func(r *Rules) {
				r.ACRLevels = []string{"bronze", "silver", "gold"}
				r.MinACR = "silver"
			},
			input:    func(in *Input) { in.Actor.AMR = []string{"pwd"}; in.Actor.ACR = "bronze" },
			wantRule: RuleMFA, wantCode: CodeMFARequired,
		},
		{
			name:  "ok/acr-exact-without-levels",
			rules: func(r *Rules) { r.MinACR = "urn:example:loa:2" },
			input: func(in *Input) { in.Actor.AMR = nil; in.Actor.ACR = "urn:example:loa:2" },
		},
		{
			name:     "fail/acr-unknown-value",
			rules:    func(r *Rules) { r.MinACR = "urn:example:loa:2" },
			input:    func(in *Input) { in.Actor.AMR = nil; in.Actor.ACR = "urn:example:loa:3" },
			wantRule: RuleMFA, wantCode: CodeMFARequired,
		},
		{
			name:     "fail/stale-authentication",
			input:    func(in *Input) { in.Actor.AuthTime = now.Add(-20 * time.Minute) },
			wantRule: RuleAuthAge, wantCode: CodeStaleAuthentication,
		},
		{
			name:  "ok/authenticated-exactly-at-limit",
			input: func(in *Input) { in.Actor.AuthTime = now.Add(-DefaultMaxActorAuthAge) },
		},
		{
			name:     "fail/auth-time-missing",
			input:    func(in *Input) { in.Actor.AuthTime = time.Time{} },
			wantRule: RuleAuthAge, wantCode: CodeMissingAttribute,
		},
		{
			name:     "fail/auth-time-in-future",
			input:    func(in *Input) { in.Actor.AuthTime = now.Add(5 * time.Minute) },
			wantRule: RuleAuthAge, wantCode: CodeStaleAuthentication,
		},
		{
			name:  "ok/auth-time-within-clock-skew",
			input: func(in *Input) { in.Actor.AuthTime = now.Add(30 * time.Second) },
		},
		{
			name:  "ok/longer-auth-age-configured",
			rules: func(r *Rules) { r.MaxActorAuthAge = time.Hour },
			input: func(in *Input) { in.Actor.AuthTime = now.Add(-45 * time.Minute) },
		},
		{
			name:  "ok/inside-network",
			rules: func(r *Rules) { r.AllowedNetworks = []string{"192.0.2.0/24", "10.0.0.0/8"} },
		},
		{
			name:     "fail/outside-network",
			rules:    func(r *Rules) { r.AllowedNetworks = []string{"10.0.0.0/8"} },
			input:    func(in *Input) { in.SourceIP = netip.MustParseAddr("203.0.113.7") },
			wantRule: RuleNetwork, wantCode: CodeNetworkNotAllowed,
		},
		{
			name:     "fail/unknown-source-with-networks",
			rules:    func(r *Rules) { r.AllowedNetworks = []string{"10.0.0.0/8"} },
			input:    func(in *Input) { in.SourceIP = netip.Addr{} },
			wantRule: RuleNetwork, wantCode: CodeMissingAttribute,
		},
		{
			name:  "ok/unknown-source-without-networks",
			input: func(in *Input) { in.SourceIP = netip.Addr{} },
		},
		{
			name:  "ok/ipv4-mapped-source",
			rules: func(r *Rules) { r.AllowedNetworks = []string{"10.0.0.0/8"} },
			input: func(in *Input) { in.SourceIP = netip.MustParseAddr("::ffff:10.1.2.3") },
		},
		{
			name:  "ok/single-address-and-ipv6",
			rules: func(r *Rules) { r.AllowedNetworks = []string{"10.9.9.9", "2001:db8::/32"} },
			input: func(in *Input) { in.SourceIP = netip.MustParseAddr("2001:db8::42") },
		},
		{
			name:     "fail/ipv6-outside",
			rules:    func(r *Rules) { r.AllowedNetworks = []string{"2001:db8::/32"} },
			input:    func(in *Input) { in.SourceIP = netip.MustParseAddr("2001:db9::1") },
			wantRule: RuleNetwork, wantCode: CodeNetworkNotAllowed,
		},
	})
}
