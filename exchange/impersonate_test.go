package exchange

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/policy"
)

// impForm is an impersonation of target by the actor token, with a valid purpose.
func impForm(actorToken, target string, kv ...string) url.Values {
	f := url.Values{"subject_token": {target}, "subject_token_type": {TokenTypeUserID},
		"actor_token": {actorToken}, "actor_token_type": {TokenTypeAccessToken},
		"scope": {"impersonation orders:read"}, "reason": {"customer called about order 42"}, "ticket": {"SUP-42"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			f.Del(kv[i])
			continue
		}
		f.Set(kv[i], kv[i+1])
	}
	return f
}

func TestImpersonationAllowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before := time.Now()
	r := e.exchange(impForm(e.agentToken("u-sam"), "u-bob"))
	wantOK(t, r)
	tok := r.str("access_token")
	c := claimsOf(t, tok)

	e.reps.mu.Lock()
	starts, grants := slices.Clone(e.reps.starts), e.reps.grants
	e.reps.mu.Unlock()
	if len(starts) != 1 {
		t.Fatalf("Start called %d times", len(starts))
	}
	s := starts[0]
	if s.Actor != "u-sam" || s.Target != "u-bob" || s.ClientID != "console" || s.Reason != "customer called about order 42" ||
		s.Ticket != "SUP-42" || s.TTL != policy.DefaultSessionTTL || !slices.Equal(s.Scopes, []string{"orders:read"}) ||
		!slices.Equal(s.Audiences, []string{testIssuer}) {
		t.Fatalf("start request %+v", s)
	}
	sid, _ := c["sid"].(string)
	if sid == "" || len(grants[sid]) != 1 {
		t.Fatalf("sid %q, grants %v", sid, grants)
	}
	if c["sub"] != "u-bob" || !reflect.DeepEqual(c["act"], map[string]any{"sub": "u-sam"}) ||
		c[ClaimReason] != "customer called about order 42" || c[ClaimTicket] != "SUP-42" || c["client_id"] != "console" {
		t.Fatalf("claims %v", c)
	}
	if c["scope"] != "orders:read" || r.str("scope") != "orders:read" {
		t.Fatalf("scope claim %v, response scope %q: impersonation must never be granted", c["scope"], r.str("scope"))
	}
	if c["amr"] != nil || c["auth_time"] != nil {
		t.Fatalf("an impersonation access token must not claim the target authenticated: %v", c)
	}
	exp := time.Unix(int64(c["exp"].(float64)), 0)
	if exp.After(before.Add(policy.DefaultAccessTokenTTL+time.Second)) || r.str("refresh_token") != "" {
		t.Fatalf("exp %v beyond the policy's 5m cap, or a refresh token without offline_access", exp)
	}
	in := e.introspect(tok)
	if in["active"] != true || in["sid"] != sid || !reflect.DeepEqual(in["act"], c["act"]) || in["sub"] != "u-bob" {
		t.Fatalf("introspection %v", in)
	}
	ev := e.audit.last()
	if ev.Type != EventGranted || ev.Form != FormImpersonation || ev.Actor != "u-sam" || ev.Target != "u-bob" ||
		ev.RepresentationID != sid || ev.GrantID != grants[sid][0] || ev.Reason == "" || ev.Ticket != "SUP-42" {
		t.Fatalf("audit %+v", ev)
	}

	// The same actor and target join the active session; another target is refused, naming it.
	r = e.exchange(impForm(e.agentToken("u-sam"), "u-bob", "audience", ordersAPI))
	wantOK(t, r)
	if c2 := claimsOf(t, r.str("access_token")); c2["sid"] != sid || !e.audit.last().Joined {
		t.Fatalf("second exchange for the same target did not join %q: %v", sid, c2["sid"])
	}
	r = e.exchange(impForm(e.agentToken("u-sam"), "u-alice"))
	wantError(t, r, http.StatusBadRequest, "invalid_request", "[reason=active_representation]")
	if d := r.str("error_description"); !strings.Contains(d, sid) || !strings.Contains(d, "u-bob") {
		t.Fatalf("the refusal must name the active session: %q", d)
	}

	// A join that asks for more than the session was granted is invalid_scope, with its reason
	// code and the session's scopes (the representation service decides it: TestRepStart).
	e.reps.mu.Lock()
	e.reps.startErr = &JoinWidensError{ID: sid, Scope: "profile", Granted: []string{"orders:read"}}
	e.reps.mu.Unlock()
	r = e.exchange(impForm(e.agentToken("u-sam"), "u-bob"))
	wantError(t, r, http.StatusBadRequest, "invalid_scope", "[reason=representation_scope]")
	if d := r.str("error_description"); !strings.Contains(d, sid) || !strings.Contains(d, "'profile'") || !strings.Contains(d, "orders:read") ||
		r.str("reason_code") != "representation_scope" {
		t.Fatalf("the refusal must name the session, the scope and what it has: %q, reason_code %q", d, r.str("reason_code"))
	}
}

func TestImpersonationWithIDTokenActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	f := impForm(e.idToken(nil, nil), "u-bob")
	f.Set("actor_token_type", TokenTypeIDToken)
	r := e.exchange(f)
	wantOK(t, r)
	if c := claimsOf(t, r.str("access_token")); c["sub"] != "u-bob" || !reflect.DeepEqual(c["act"], map[string]any{"sub": "u-sam"}) {
		t.Fatalf("claims %v", c)
	}
}

func TestImpersonationDenied(t *testing.T) {
	t.Parallel()
	mfaToken := func(e *env, sub string) string { return e.agentToken(sub) }
	tests := []struct {
		name     string
		opts     []envOpt
		setup    func(e *env)
		form     func(e *env) url.Values
		code     string // OAuth error
		reason   string // reason code, "" when none
		fragment string
	}{
		{name: "fail/policy-disabled-by-default", opts: []envOpt{withOptions(func(o *Options) { o.Decider = nil })},
			form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob") }, code: "invalid_request", reason: "impersonation_disabled"},
		{name: "fail/deny-representations", opts: []envOpt{withOptions(func(o *Options) { o.Representations = DenyRepresentations{} })},
			form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob") }, code: "invalid_request",
			reason: CodeRepresentationsUnavailable, fragment: "Representation sessions are not available"},
		{name: "fail/mfa-required", form: func(e *env) url.Values {
			return impForm(e.mint(mint{client: "console", sub: "u-sam", amr: []string{"pwd"}, authTime: time.Now()}).access, "u-bob")
		}, code: "invalid_request", reason: "mfa_required"},
		{name: "fail/stale-authentication", form: func(e *env) url.Values {
			return impForm(e.mint(mint{client: "console", sub: "u-sam", amr: []string{"otp"}, authTime: time.Now().Add(-time.Hour)}).access, "u-bob")
		}, code: "invalid_request", reason: "stale_authentication"},
		{name: "fail/target-opted-out", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-dave") },
			code: "invalid_request", reason: "target_opted_out"},
		{name: "fail/support-cannot-impersonate-admin", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-ada") },
			code: "invalid_request", reason: "role_not_allowed"},
		{name: "fail/super-admin-never-by-default", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-ada"), "u-sue") },
			code: "invalid_request", reason: "role_not_allowed"},
		{name: "fail/self", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-sam") },
			code: "invalid_request", reason: "self_impersonation"},
		{name: "fail/customer-is-not-impersonator", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-alice"), "u-bob") },
			code: "invalid_request", reason: "not_impersonator"},
		{name: "fail/nested-actor-token-has-act", form: func(e *env) url.Values {
			return impForm(e.mint(mint{client: "console", sub: "u-sam", act: &oauthActor{Subject: "u-ada"}, amr: []string{"otp"}, authTime: time.Now()}).access, "u-bob")
		}, code: "invalid_request", reason: "nested_impersonation"},
		{name: "fail/nested-actor-is-represented", setup: func(e *env) {
			wantOK(e.t, e.exchange(impForm(mfaToken(e, "u-ada"), "u-sam")))
		}, form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob") }, code: "invalid_request", reason: "nested_impersonation"},
		{name: "fail/reason-required", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob", "reason", "") },
			code: "invalid_request", reason: "reason_required"},
		{name: "fail/bad-ticket", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob", "ticket", "see slack") },
			code: "invalid_request", reason: "ticket_invalid"},
		{name: "fail/blocked-scope", form: func(e *env) url.Values {
			return impForm(mfaToken(e, "u-sam"), "u-bob", "scope", "impersonation payments:write")
		}, code: "invalid_request", reason: "scope_denied"},
		{name: "fail/outside-network", opts: []envOpt{withOptions(func(o *Options) {
			r := permissiveRules()
			r.AllowedNetworks = []string{"10.0.0.0/8"}
			o.Decider, _ = policy.New(r)
		}), func(e *env) { e.clientIP = netip.MustParseAddr("192.0.2.7") }},
			form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob") }, code: "invalid_request", reason: "network_not_allowed"},
		{name: "fail/consent-required", opts: []envOpt{withOptions(func(o *Options) {
			r := permissiveRules()
			r.ConsentRequired.Roles = []string{"customer"}
			o.Decider, _ = policy.New(r)
		})}, form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-bob") }, code: "invalid_request", reason: CodeConsentRequired},
		{name: "fail/unknown-target", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u-nobody") },
			code: "invalid_request", reason: CodeUnknownUser, fragment: "does not exist"},
		{name: "fail/actor-is-not-a-user", form: func(e *env) url.Values {
			return impForm(e.mint(mint{client: "svc", sub: "svc", aud: []string{testIssuer}}).access, "u-bob")
		}, code: "invalid_request", reason: CodeUnknownUser, fragment: "not a user"},
		{name: "fail/no-actor-token", form: func(e *env) url.Values {
			f := impForm("", "u-bob")
			f.Del("actor_token")
			f.Del("actor_token_type")
			return f
		}, code: "invalid_request", fragment: "needs an actor token"},
		{name: "fail/no-impersonation-scope", form: func(e *env) url.Values {
			return impForm(mfaToken(e, "u-sam"), "u-bob", "scope", "orders:read")
		}, code: "invalid_request", fragment: "request the scope 'impersonation'"},
		{name: "fail/audience-not-allowed-for-client", form: func(e *env) url.Values {
			return impForm(mfaToken(e, "u-sam"), "u-bob", "audience", "https://bank.example")
		}, code: "invalid_target"},
		{name: "fail/scope-not-allowed-for-client", form: func(e *env) url.Values {
			return impForm(mfaToken(e, "u-sam"), "u-bob", "scope", "impersonation admin:all")
		}, code: "invalid_scope"},
		{name: "fail/bad-user-id", form: func(e *env) url.Values { return impForm(mfaToken(e, "u-sam"), "u bob") },
			code: "invalid_request", fragment: "not a valid user id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, tt.opts...)
			if tt.setup != nil {
				tt.setup(e)
			}
			r := e.exchange(tt.form(e))
			frag := tt.fragment
			if tt.reason != "" {
				wantError(t, r, http.StatusBadRequest, tt.code, "[reason="+tt.reason+"]")
			}
			wantError(t, r, http.StatusBadRequest, tt.code, frag)
			ev := e.audit.last()
			if ev.Type != EventDenied || ev.ReasonCode != tt.reason || ev.Form != FormImpersonation {
				t.Fatalf("audit %+v, want a denial with reason %q", ev, tt.reason)
			}
			if tt.name == "fail/unknown-target" && ev.Target != "u-nobody" {
				t.Fatalf("the denial of an unknown target names target %q, want the id asked for", ev.Target)
			}
			e.reps.mu.Lock()
			defer e.reps.mu.Unlock()
			if tt.setup == nil && len(e.reps.starts) > 0 && tt.reason != CodeRepresentationsUnavailable {
				t.Fatalf("a refused impersonation started a representation: %+v", e.reps.starts)
			}
		})
	}
}

// TestDenialReasonCode: the code is in the description and in the error chain (for the token
// endpoint to expose as its own member).
func TestDenialReasonCode(t *testing.T) {
	t.Parallel()
	err := denyPolicy(policy.Decision{Rule: policy.RuleMFA, Code: policy.CodeMFARequired, Reason: "step up"})
	if ReasonCode(err) != "mfa_required" {
		t.Fatalf("ReasonCode = %q", ReasonCode(err))
	}
	var d *Denial
	if !errors.As(err, &d) || d.Rule != policy.RuleMFA {
		t.Fatalf("no *Denial in %v", err)
	}
	var rc interface{ ReasonCode() string }
	if !errors.As(err, &rc) || rc.ReasonCode() != "mfa_required" {
		t.Fatal("the provider's interface lookup must find the code")
	}
	if ReasonCode(badRequest("plain")) != "" {
		t.Fatal("a plain error has no reason code")
	}
}

// TestImpersonationUndoneWhenAuditFails: nothing is issued without its audit record, and the
// representation this request opened is aborted so the agent is not locked out.
func TestImpersonationUndoneWhenAuditFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.audit.fail.Store(true)
	r := e.exchange(impForm(e.agentToken("u-sam"), "u-bob"))
	wantError(t, r, http.StatusInternalServerError, "server_error", "audit trail")
	e.reps.mu.Lock()
	aborted := slices.Clone(e.reps.aborted)
	e.reps.mu.Unlock()
	if len(aborted) != 1 {
		t.Fatalf("aborted %v, want the started representation", aborted)
	}
	e.audit.fail.Store(false)
	wantOK(t, e.exchange(impForm(e.agentToken("u-sam"), "u-alice"))) // not locked out
}

// TestImpersonationPrefetch: the policy input's reads start while the actor token's record is
// read, keyed by the subject of an actas access token whose signature checks; anything else
// (a forged signature, an ID token, another token type) starts nothing, and reads made for
// another actor or target are not used.
func TestImpersonationPrefetch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	agent := e.agentToken("u-sam")
	pre := e.h.prefetch(ctx, TokenTypeAccessToken, agent, "u-bob")
	if pre == nil {
		t.Fatal("no prefetch for a valid agent token")
	}
	pre.wg.Wait()
	if pre.actor != "u-sam" || pre.au == nil || pre.au.ID != "u-sam" || pre.t == nil || pre.t.ID != "u-bob" || pre.aerr != nil || pre.terr != nil || pre.rerr != nil {
		t.Fatalf("prefetch %+v", pre)
	}
	forged := agent[:len(agent)-4] + "AAAA"
	for name, tc := range map[string][2]string{
		"forged":   {TokenTypeAccessToken, forged},
		"id-token": {TokenTypeAccessToken, e.idToken(nil, nil)},
		"id-type":  {TokenTypeIDToken, agent},
		"not-jwt":  {TokenTypeAccessToken, "opaque"},
	} {
		if p := e.h.prefetch(ctx, tc[0], tc[1], "u-bob"); p != nil {
			t.Errorf("%s: prefetch started for %q", name, p.actor)
		}
	}

	// Reads made for another actor are ignored: the input is the verified actor's.
	c, err := e.store.GetClient(ctx, "console")
	if err != nil {
		t.Fatal(err)
	}
	req, err := ParseRequest(impForm(agent, "u-bob"))
	if err != nil {
		t.Fatal(err)
	}
	st := &state{req: req, client: newClient(c), now: time.Now()}
	other := e.h.prefetch(ctx, TokenTypeAccessToken, e.agentToken("u-bob"), "u-bob")
	in, err := e.h.policyInput(ctx, st, &token{subject: "u-sam", local: true}, other)
	if err != nil {
		t.Fatal(err)
	}
	if in.Actor.ID != "u-sam" || !slices.Equal(in.Actor.Roles, []string{"support"}) || in.Target.ID != "u-bob" {
		t.Fatalf("policy input actor %+v target %+v", in.Actor, in.Target)
	}
}
