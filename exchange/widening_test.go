package exchange

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/actas-dev/actas/policy"
)

// TestForeignSubjectWithoutScopes: a trusted issuer's token without a scope claim grants no scope
// (scopes never widen): asking for one is invalid_scope, asking for none issues none.
func TestForeignSubjectWithoutScopes(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnv(t, p.opts(p.trusted())...)
	noScope := p.sign(t, p.key(0), "at+jwt", map[string]any{"scope": nil})
	for _, scope := range []string{"orders:read", "payments:write orders:write offline_access"} {
		f := subjectForm(noScope, TokenTypeAccessToken)
		f.Set("scope", scope)
		wantError(t, e.exchange(f), http.StatusBadRequest, "invalid_scope", "never widens")
	}
	r := e.exchange(subjectForm(noScope, TokenTypeAccessToken))
	wantOK(t, r)
	if s, _ := claimsOf(t, r.str("access_token"))["scope"].(string); s != "" || r.str("refresh_token") != "" {
		t.Fatalf("scope %q, refresh token %v: want none of either", s, r.str("refresh_token") != "")
	}
}

// TestForeignMayActSurvivesReissue: a trusted issuer's may_act is kept by a downscoping, so the
// re-issued token still refuses any other actor.
func TestForeignMayActSurvivesReissue(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnv(t, p.opts(p.trusted())...)
	subj := p.sign(t, p.key(0), "at+jwt", map[string]any{"sub": "u-alice", "may_act": map[string]any{"sub": "u-sam", "iss": testIssuer}})
	delegate := func(subject, actor string) result {
		f := subjectForm(subject, TokenTypeAccessToken)
		f.Set("actor_token", e.agentToken(actor))
		f.Set("actor_token_type", TokenTypeAccessToken)
		return e.exchange(f)
	}
	wantError(t, delegate(subj, "u-ada"), http.StatusBadRequest, "invalid_request", "may_act")
	r := e.exchange(url.Values{"subject_token": {subj}, "subject_token_type": {TokenTypeAccessToken}, "scope": {"orders:read"}})
	wantOK(t, r)
	ma, _ := claimsOf(t, r.str("access_token"))["may_act"].(map[string]any)
	if ma["sub"] != "u-sam" || ma["iss"] != testIssuer {
		t.Fatalf("re-issued may_act %v, want the subject's", ma)
	}
	wantError(t, delegate(r.str("access_token"), "u-ada"), http.StatusBadRequest, "invalid_request", "may_act")
	wantOK(t, delegate(r.str("access_token"), "u-sam"))
}

// TestDownscopingBoundsActDepth: the chain depth limit holds for every form, not only when an
// actor is added.
func TestDownscopingBoundsActDepth(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnv(t, p.opts(p.trusted())...)
	act := map[string]any{"sub": "a6"}
	for _, s := range []string{"a5", "a4", "a3", "a2", "a1"} {
		act = map[string]any{"sub": s, "act": act}
	}
	wantError(t, e.exchange(subjectForm(p.sign(t, p.key(0), "at+jwt", map[string]any{"act": act}), TokenTypeAccessToken)),
		http.StatusBadRequest, "invalid_request", "at most")
}

// TestDelegationBoundedByActor: a delegated grant never outlives the actor's token, nor does
// anything refreshing it produce.
func TestDelegationBoundedByActor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "console", sub: "u-alice", scopes: []string{"orders:read", "offline_access"}, ttl: 2 * time.Hour})
	actor := e.mint(mint{client: "console", sub: "u-sam", ttl: 3 * time.Minute})
	r := e.exchange(url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken},
		"actor_token": {actor.access}, "actor_token_type": {TokenTypeAccessToken}, "scope": {"orders:read offline_access"}})
	wantOK(t, r)
	if exp := time.Unix(int64(claimsOf(t, r.str("access_token"))["exp"].(float64)), 0); exp.After(actor.exp) {
		t.Fatalf("delegated exp %v beyond the actor token's %v", exp, actor.exp)
	}
	r2 := e.post("console", consoleSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}})
	wantOK(t, r2)
	c := claimsOf(t, r2.str("access_token"))
	if exp := time.Unix(int64(c["exp"].(float64)), 0); exp.After(actor.exp) {
		t.Fatalf("refreshed exp %v beyond the actor token's %v", exp, actor.exp)
	}
	if act, _ := c["act"].(map[string]any); act["sub"] != "u-sam" {
		t.Fatalf("refreshed act %v", c["act"])
	}
}

// TestImpersonationRefreshNeedsGrantedOfflineAccess: when the policy does not grant
// offline_access, no refresh token is issued (it could never be used).
func TestImpersonationRefreshNeedsGrantedOfflineAccess(t *testing.T) {
	t.Parallel()
	rules := permissiveRules()
	rules.AllowedScopes = []string{"orders:read", "openid"}
	engine, err := policy.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withOptions(func(o *Options) { o.Decider = engine }))
	r := e.exchange(impForm(e.agentToken("u-sam"), "u-bob", "scope", "impersonation orders:read offline_access"))
	wantOK(t, r)
	if r.str("refresh_token") != "" {
		t.Fatal("a refresh token was issued without offline_access")
	}
}

// TestUnreadableTokenRecord: an actas token whose stored record cannot be decoded is the server's
// failure (500 server_error, nothing issued), not a refused token (invalid_request).
func TestUnreadableTokenRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "console", sub: "u-alice", scopes: []string{"orders:read"}})
	wantOK(t, e.exchange(subjectForm(subj.access, TokenTypeAccessToken)))
	prefix := "tok:access:"
	e.kv.corrupt.Store(&prefix)
	wantError(t, e.exchange(subjectForm(subj.access, TokenTypeAccessToken)), http.StatusInternalServerError, "server_error", "")
	e.kv.corrupt.Store(nil)
	wantOK(t, e.exchange(subjectForm(subj.access, TokenTypeAccessToken)))
}

// TestForeignSubjectGrantStaysActive: a trusted issuer's subject is not a user of this server, so
// the user checks of introspection and refresh (a removed or disabled user's tokens are inactive)
// do not apply to it, also once the exchanged token is exchanged again.
func TestForeignSubjectGrantStaysActive(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	e := newEnv(t, p.opts(p.trusted())...)
	foreign := p.sign(t, p.key(0), "at+jwt", map[string]any{"scope": "orders:read offline_access"})
	r := e.exchange(url.Values{"subject_token": {foreign}, "subject_token_type": {TokenTypeAccessToken}, "scope": {"orders:read offline_access"}})
	wantOK(t, r)
	if claimsOf(t, r.str("access_token"))["sub"] != "ext-agent" || r.str("refresh_token") == "" {
		t.Fatalf("exchange of the foreign token: %v", r.body)
	}
	if it := e.introspect(r.str("access_token")); it["active"] != true {
		t.Fatalf("introspection of a foreign subject's token: %v", it)
	}
	again := e.exchange(subjectForm(r.str("access_token"), TokenTypeAccessToken))
	wantOK(t, again)
	if it := e.introspect(again.str("access_token")); it["active"] != true {
		t.Fatalf("introspection after a second exchange: %v", it)
	}
	wantOK(t, e.post("console", consoleSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {r.str("refresh_token")}}))
}

// TestRemovedUserGrantInactive: once the subject user is disabled or removed, its tokens are
// inactive at introspection and its grant cannot be refreshed.
func TestRemovedUserGrantInactive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "console", sub: "u-alice", scopes: []string{"orders:read", "offline_access"}, refresh: true})
	if it := e.introspect(subj.access); it["active"] != true {
		t.Fatalf("introspection before: %v", it)
	}
	u, err := e.store.GetUser(context.Background(), "u-alice")
	if err != nil {
		t.Fatal(err)
	}
	u.Disabled = true
	if err := e.store.UpsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if it := e.introspect(subj.access); it["active"] != false {
		t.Fatalf("introspection of a disabled user's token: %v", it)
	}
	wantError(t, e.post("console", consoleSecret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {subj.refresh}}),
		http.StatusBadRequest, "invalid_grant", "no longer exists or has been disabled")
	if err := e.store.DeleteUser(context.Background(), "u-alice"); err != nil {
		t.Fatal(err)
	}
	if it := e.introspect(subj.access); it["active"] != false {
		t.Fatalf("introspection of a removed user's token: %v", it)
	}
}

// TestClientSubjectGrantStaysActive: a client-credentials token's subject is its client, not a
// user: exchanged by another client, the new token is not taken for a removed user's.
func TestClientSubjectGrantStaysActive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "spa", sub: "spa", aud: []string{testIssuer}}) // as if spa had a token of its own
	r := e.exchange(subjectForm(subj.access, TokenTypeAccessToken))
	wantOK(t, r)
	if it := e.introspect(r.str("access_token")); it["active"] != true || it["sub"] != "spa" {
		t.Fatalf("introspection of an exchanged client token: %v", it)
	}
}
