package policy

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"testing/quick"
	"time"
)

// propertyEngines are rule sets under which the properties must hold: all keep the default matrix
// and the default deny-list, and are otherwise permissive so that allowed decisions are common.
func propertyEngines(t testing.TB) map[string]*Engine {
	permissive := func() Rules {
		r := DefaultRules()
		r.Enabled = true
		r.AllowedClients = []string{"*"}
		r.AllowedAudiences = []string{"*"}
		return r
	}
	glass := permissive()
	glass.BreakGlassRoles = []string{"super_admin", "admin"}
	glass.GlobalRoles = []string{"super_admin"}
	glass.RequireReason = false
	glass.TicketPattern = ""
	open := permissive()
	open.RequireMFA = false
	open.HonourOptOut = false
	open.RequireReason = false
	open.AllowedScopes = []string{"*"}
	open.MaxActorAuthAge = 24 * time.Hour
	withCEL := permissive()
	withCEL.AllowedNetworks = []string{"10.0.0.0/8"}
	withCEL.CustomRules = []CELRule{{Name: "not-globex", Expression: `target.tenant != "globex"`}}
	return map[string]*Engine{
		"default": mustNew(t, permissive()),
		"glass":   mustNew(t, glass),
		"open":    mustNew(t, open),
		"cel":     mustNew(t, withCEL),
	}
}

var defaultDenied = DefaultRules().DeniedScopes

// checkProperties asserts the properties every decision must have, whatever the input.
func checkProperties(t testing.TB, in Input, d Decision) {
	t.Helper()
	assertInvariants(t, d)
	if !d.Allowed {
		return
	}
	if in.Actor.ID == in.Target.ID {
		t.Fatalf("allowed self-impersonation: %+v", in)
	}
	if slices.Contains(in.Target.Roles, "super_admin") {
		t.Fatalf("allowed impersonation of a super_admin under the default matrix: %+v", in)
	}
	if d.Precheck {
		return
	}
	for _, s := range d.Obligations.Scopes {
		if slices.Contains(defaultDenied, s) || strings.Contains(s, "*") {
			t.Fatalf("allowed decision grants the denied scope %q", s)
		}
	}
	for _, s := range in.RequestedScopes {
		if slices.Contains(defaultDenied, s) {
			t.Fatalf("allowed a request for the denied scope %q", s)
		}
	}
}

func pick[T any](r *rand.Rand, items ...T) T { return items[r.IntN(len(items))] }

func subset(r *rand.Rand, items ...string) []string {
	var out []string
	for _, it := range items {
		if r.IntN(3) == 0 {
			out = append(out, it)
		}
	}
	return out
}

// randomInput starts from a request that the permissive engines allow and applies a few random
// mutations drawn from small pools, so that allowed decisions are common and collisions (actor =
// target, super admins, denied scopes, unranked roles) are frequent.
func randomInput(r *rand.Rand) Input {
	roles := []string{"customer", "support", "auditor", "admin", "super_admin", "realm-admin", ""}
	in := Input{
		Now: now,
		Actor: Subject{ID: "u1", Roles: []string{pick(r, "support", "admin", "super_admin")}, Tenant: "acme",
			AMR: []string{"pwd", "otp"}, AuthTime: now.Add(-time.Minute)},
		Target: Subject{ID: "u2", Roles: []string{"customer"}, Tenant: "acme",
			ImpersonationAllowed: true},
		ClientID:        "console",
		Audiences:       []string{"https://app.example"},
		RequestedScopes: []string{"openid"},
		Reason:          "customer cannot log in since Monday",
		SourceIP:        netip.MustParseAddr("10.1.2.3"),
	}
	mutations := []func(){
		func() { in.Now = time.Time{} },
		func() { in.Actor.ID = pick(r, "u1", "u2", "u3", "") },
		func() { in.Target.ID = pick(r, "u1", "u2", "u3", "") },
		func() { in.Actor.Roles = subset(r, roles...) },
		func() { in.Target.Roles = subset(r, roles...) },
		func() { in.Target.Roles = append(in.Target.Roles, pick(r, roles...)) },
		func() { in.Actor.Tenant = pick(r, "acme", "globex", "") },
		func() { in.Target.Tenant = pick(r, "acme", "globex", "") },
		func() { in.Target.ImpersonationAllowed = false },
		func() { in.Actor.Disabled = true },
		func() { in.Target.Disabled = true },
		func() { in.Actor.AMR = subset(r, "pwd", "otp", "mfa", "hwk", "sms") },
		func() { in.Actor.ACR = pick(r, "", "1", "2") },
		func() {
			in.Actor.AuthTime = pick(r, now.Add(-time.Duration(r.IntN(40))*time.Minute), time.Time{}, now.Add(time.Hour))
		},
		func() { in.ClientID = pick(r, "console", "") },
		func() { in.Audiences = subset(r, "https://app.example", "") },
		func() {
			in.RequestedScopes = subset(r, "openid", "orders:read", "payments:write", "account:delete",
				"mfa:manage", "*", "", "payments:refund", "profile", "openid")
		},
		func() {
			in.Reason = pick(r, "", "short", "customer cannot log in since Monday", "bad\x00reason text here")
		},
		func() { in.Ticket = pick(r, "", "SUP-1", "bad ticket") },
		func() {
			in.SourceIP = pick(r, netip.Addr{}, netip.MustParseAddr("203.0.113.1"), netip.MustParseAddr("::ffff:10.0.0.1"))
		},
		func() { in.ActorTokenHasAct = true },
		func() { in.ActorIsRepresented = true },
		func() { in.RequestedSessionTTL = time.Duration(r.IntN(7200)-600) * time.Second },
	}
	for range r.IntN(4) {
		pick(r, mutations...)()
	}
	return in
}

// TestDecideProperties checks the properties on many generated inputs (testing/quick draws the
// seeds), and that allowed decisions are actually reached so the properties are exercised.
func TestDecideProperties(t *testing.T) {
	t.Parallel()
	engines := propertyEngines(t)
	allowed := map[string]int{}
	prop := func(seed1, seed2 uint64) bool {
		r := rand.New(rand.NewPCG(seed1, seed2))
		in := randomInput(r)
		for name, e := range engines {
			d := e.Decide(context.Background(), in)
			checkProperties(t, in, d)
			checkProperties(t, in, e.Representable(context.Background(), in))
			if d.Allowed {
				allowed[name]++
			}
		}
		return true
	}
	if err := quick.Check(prop, &quick.Config{MaxCount: 3000}); err != nil {
		t.Fatal(err)
	}
	for name := range engines {
		if allowed[name] == 0 {
			t.Errorf("engine %q allowed nothing: the properties were not exercised", name)
		}
	}
}

// FuzzDecide: Decide never panics, and the properties hold for arbitrary input.
func FuzzDecide(f *testing.F) {
	f.Add("agent-1", "cust-1", "support", "customer", "acme", "acme", "otp", int64(60),
		"openid,orders:read", "customer cannot see their invoice", "SUP-1", []byte{10, 1, 2, 3}, uint8(0))
	f.Add("u", "u", "super_admin", "super_admin", "", "", "mfa", int64(0), "payments:write", "", "", []byte{}, uint8(0xff))
	f.Add("a", "b", "admin,support", "customer,admin", "x", "y", "hwk,pwd", int64(-3600),
		"*,mfa:manage", "\u202e reason", "A-1", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1}, uint8(3))
	engines := propertyEngines(f)
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	f.Fuzz(func(t *testing.T, actorID, targetID, actorRoles, targetRoles, actorTenant, targetTenant,
		amr string, authAgeSeconds int64, scopes, reason, ticket string, ip []byte, flags uint8) {
		addr, _ := netip.AddrFromSlice(ip)
		in := Input{
			Now: now,
			Actor: Subject{ID: actorID, Roles: split(actorRoles), Tenant: actorTenant, AMR: split(amr),
				AuthTime: now.Add(-time.Duration(authAgeSeconds) * time.Second), Disabled: flags&1 != 0},
			Target: Subject{ID: targetID, Roles: split(targetRoles), Tenant: targetTenant,
				ImpersonationAllowed: flags&2 == 0, Disabled: flags&4 != 0},
			ClientID:            "console",
			Audiences:           []string{"https://app.example"},
			RequestedScopes:     split(scopes),
			Reason:              reason,
			Ticket:              ticket,
			SourceIP:            addr,
			ActorTokenHasAct:    flags&8 != 0,
			ActorIsRepresented:  flags&16 != 0,
			RequestedSessionTTL: time.Duration(authAgeSeconds) * time.Millisecond,
		}
		for _, e := range engines {
			checkProperties(t, in, e.Decide(context.Background(), in))
			checkProperties(t, in, e.Representable(context.Background(), in))
		}
	})
}
