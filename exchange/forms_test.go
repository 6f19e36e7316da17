package exchange

import (
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDelegation(t *testing.T) {
	t.Parallel()
	chain := func(subs ...string) *oauthActor {
		var a *oauthActor
		for i := len(subs) - 1; i >= 0; i-- {
			a = &oauthActor{Subject: subs[i], Act: a}
		}
		return a
	}
	tests := []struct {
		name     string
		subject  mint
		actor    string // user id of the actor (an actas access token issued to console)
		depth    int    // MaxActDepth; 0 = default
		wantAct  map[string]any
		code     string
		fragment string
	}{
		{name: "ok/single-actor", subject: mint{client: "spa", sub: "u-alice"}, actor: "u-sam",
			wantAct: map[string]any{"sub": "u-sam"}},
		{name: "ok/nested-act-three-deep", subject: mint{client: "spa", sub: "u-alice", act: chain("svc-b", "svc-c")}, actor: "u-sam",
			wantAct: map[string]any{"sub": "u-sam", "act": map[string]any{"sub": "svc-b", "act": map[string]any{"sub": "svc-c"}}}},
		{name: "ok/foreign-actor-in-chain-keeps-iss", subject: mint{client: "spa", sub: "u-alice",
			act: &oauthActor{Subject: "ext", Issuer: "https://idp.example"}}, actor: "u-sam",
			wantAct: map[string]any{"sub": "u-sam", "act": map[string]any{"sub": "ext", "iss": "https://idp.example"}}},
		{name: "ok/at-depth-bound", subject: mint{client: "spa", sub: "u-alice", act: chain("b", "c", "d")}, actor: "u-sam",
			wantAct: map[string]any{"sub": "u-sam", "act": map[string]any{"sub": "b", "act": map[string]any{"sub": "c", "act": map[string]any{"sub": "d"}}}}},
		{name: "fail/depth-bound", subject: mint{client: "spa", sub: "u-alice", act: chain("b", "c", "d", "e")}, actor: "u-sam",
			code: "invalid_request", fragment: "at most 4 are allowed"},
		{name: "fail/configured-depth-bound", subject: mint{client: "spa", sub: "u-alice", act: chain("b")}, actor: "u-sam", depth: 1,
			code: "invalid_request", fragment: "at most 1 are allowed"},
		{name: "ok/may-act-matches", subject: mint{client: "spa", sub: "u-alice", extra: map[string]any{"may_act": map[string]any{"sub": "u-sam"}}},
			actor: "u-sam", wantAct: map[string]any{"sub": "u-sam"}},
		{name: "ok/may-act-with-our-iss", subject: mint{client: "spa", sub: "u-alice", extra: map[string]any{"may_act": map[string]any{"sub": "u-sam", "iss": testIssuer}}},
			actor: "u-sam", wantAct: map[string]any{"sub": "u-sam"}},
		{name: "fail/may-act-other-subject", subject: mint{client: "spa", sub: "u-alice", extra: map[string]any{"may_act": map[string]any{"sub": "u-ada"}}},
			actor: "u-sam", code: "invalid_request", fragment: "may_act"},
		{name: "fail/may-act-other-issuer", subject: mint{client: "spa", sub: "u-alice", extra: map[string]any{"may_act": map[string]any{"sub": "u-sam", "iss": "https://idp.example"}}},
			actor: "u-sam", code: "invalid_request", fragment: "may_act"},
		{name: "fail/may-act-malformed", subject: mint{client: "spa", sub: "u-alice", extra: map[string]any{"may_act": "u-sam"}},
			actor: "u-sam", code: "invalid_request", fragment: "may_act claim is malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, withOptions(func(o *Options) { o.MaxActDepth = tt.depth }))
			subj := e.mint(tt.subject)
			r := e.exchange(url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken},
				"actor_token": {e.agentToken(tt.actor)}, "actor_token_type": {TokenTypeAccessToken}})
			if tt.code != "" {
				wantError(t, r, http.StatusBadRequest, tt.code, tt.fragment)
				return
			}
			wantOK(t, r)
			c := claimsOf(t, r.str("access_token"))
			if c["sub"] != tt.subject.sub || !reflect.DeepEqual(c["act"], tt.wantAct) {
				t.Fatalf("sub %v act %v, want %s %v", c["sub"], c["act"], tt.subject.sub, tt.wantAct)
			}
			if in := e.introspect(r.str("access_token")); in["active"] != true || !reflect.DeepEqual(in["act"], tt.wantAct) {
				t.Fatalf("introspection %v, want act %v", in, tt.wantAct)
			}
			ev := e.audit.last()
			if ev.Type != EventGranted || ev.Form != FormDelegation || ev.Actor != tt.actor || ev.Target != tt.subject.sub || ev.GrantID == "" {
				t.Fatalf("audit %+v", ev)
			}
		})
	}
}

func TestDownscoping(t *testing.T) {
	t.Parallel()
	subjectScopes := []string{"openid", "orders:read", "orders:write", "offline_access"}
	tests := []struct {
		name      string
		form      url.Values
		subjTTL   time.Duration
		wantScope []string // granted scopes (the JWT's scope claim)
		respScope string   // the response's scope member; "-" when absent
		wantAud   []string
		refresh   bool
		code      string
		fragment  string
	}{
		{name: "ok/no-scope-keeps-subject-scopes-without-offline-access", form: url.Values{},
			wantScope: []string{"openid", "orders:read", "orders:write"}, respScope: "openid orders:read orders:write", wantAud: []string{testIssuer}},
		{name: "ok/narrower-scopes", form: url.Values{"scope": {"orders:read"}}, wantScope: []string{"orders:read"}, respScope: "-", wantAud: []string{testIssuer}},
		{name: "ok/narrower-audience", form: url.Values{"scope": {"orders:read"}, "audience": {"orders"}},
			wantScope: []string{"orders:read"}, respScope: "-", wantAud: []string{"orders"}},
		{name: "ok/resource", form: url.Values{"scope": {"orders:read"}, "resource": {ordersAPI}},
			wantScope: []string{"orders:read"}, respScope: "-", wantAud: []string{ordersAPI}},
		{name: "ok/offline-access-gives-refresh-token", form: url.Values{"scope": {"orders:read offline_access"}},
			wantScope: []string{"orders:read", "offline_access"}, respScope: "-", wantAud: []string{testIssuer}, refresh: true},
		{name: "ok/lifetime-capped-by-subject", form: url.Values{"scope": {"orders:read"}}, subjTTL: 2 * time.Minute,
			wantScope: []string{"orders:read"}, respScope: "-", wantAud: []string{testIssuer}},
		{name: "fail/wider-scope", form: url.Values{"scope": {"orders:read profile"}}, code: "invalid_scope", fragment: "never widens"},
		{name: "fail/scope-client-may-not-have", form: url.Values{"scope": {"admin:all"}}, code: "invalid_scope", fragment: "not allowed to request the scope 'admin:all'"},
		{name: "fail/audience-not-allowed", form: url.Values{"audience": {"https://bank.example"}}, code: "invalid_target", fragment: "https://bank.example"},
		{name: "fail/resource-not-allowed", form: url.Values{"resource": {"https://bank.example/api"}}, code: "invalid_target", fragment: "https://bank.example/api"},
		{name: "fail/impersonation-scope-without-user-id", form: url.Values{"scope": {"impersonation"}}, code: "invalid_request", fragment: "only valid with subject_token_type"},
		{name: "fail/reason-outside-impersonation", form: url.Values{"reason": {"because"}}, code: "invalid_request", fragment: "only for impersonation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ttl := tt.subjTTL
			if ttl == 0 {
				ttl = time.Hour
			}
			subj := e.mint(mint{client: "spa", sub: "u-alice", scopes: subjectScopes, ttl: ttl,
				amr: []string{"pwd"}, authTime: time.Now().Add(-time.Hour)})
			form := url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken}}
			for k, v := range tt.form {
				form[k] = v
			}
			r := e.exchange(form)
			if tt.code != "" {
				wantError(t, r, http.StatusBadRequest, tt.code, tt.fragment)
				return
			}
			wantOK(t, r)
			c := claimsOf(t, r.str("access_token"))
			if got := strings.Fields(c["scope"].(string)); !slices.Equal(got, tt.wantScope) {
				t.Fatalf("scope %v, want %v", got, tt.wantScope)
			}
			if s, ok := r.body["scope"]; (tt.respScope == "-") == ok || (ok && s != tt.respScope) {
				t.Fatalf("response scope %v (present %v), want %q", s, ok, tt.respScope)
			}
			if got := stringList(c["aud"]); !slices.Equal(got, tt.wantAud) {
				t.Fatalf("aud %v, want %v", got, tt.wantAud)
			}
			if c["sub"] != "u-alice" || c["client_id"] != "console" || c["act"] != nil || c["amr"] == nil {
				t.Fatalf("claims %v", c)
			}
			exp := time.Unix(int64(c["exp"].(float64)), 0)
			if exp.After(subj.exp) {
				t.Fatalf("exp %v outlives the subject token's %v", exp, subj.exp)
			}
			if tt.subjTTL > 0 && !exp.Equal(subj.exp) {
				t.Fatalf("exp %v, want the subject's %v", exp, subj.exp)
			}
			if ein := r.body["expires_in"].(float64); ein <= 0 || time.Duration(ein)*time.Second > time.Until(subj.exp)+time.Second {
				t.Fatalf("expires_in %v", ein)
			}
			if (r.str("refresh_token") != "") != tt.refresh {
				t.Fatalf("refresh_token present %v, want %v", r.str("refresh_token") != "", tt.refresh)
			}
			if r.str("issued_token_type") != TokenTypeAccessToken || r.str("token_type") != "Bearer" {
				t.Fatalf("response %v", r.body)
			}
		})
	}
}

// TestRequestedTokenType: jwt is the same JWT typed as jwt; id_token is an ID token with act in
// access_token and token_type N_A.
func TestRequestedTokenType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	subj := e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"openid", "orders:read"}})
	form := func(typ string) url.Values {
		return url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken},
			"actor_token": {e.agentToken("u-sam")}, "actor_token_type": {TokenTypeAccessToken},
			"requested_token_type": {typ}, "scope": {"openid offline_access"}}
	}
	t.Run("ok/jwt", func(t *testing.T) {
		r := e.exchange(form(TokenTypeJWT))
		wantError(t, r, http.StatusBadRequest, "invalid_scope", "never widens") // offline_access not in the subject
		f := form(TokenTypeJWT)
		f.Set("scope", "openid")
		r = e.exchange(f)
		wantOK(t, r)
		if r.str("issued_token_type") != TokenTypeJWT || r.str("token_type") != "Bearer" || headerOf(t, r.str("access_token"))["typ"] != "at+jwt" {
			t.Fatalf("response %v", r.body)
		}
	})
	t.Run("ok/id-token", func(t *testing.T) {
		f := form(TokenTypeIDToken)
		f.Set("scope", "openid")
		r := e.exchange(f)
		wantOK(t, r)
		if r.str("issued_token_type") != TokenTypeIDToken || r.str("token_type") != "N_A" || r.str("refresh_token") != "" {
			t.Fatalf("response %v", r.body)
		}
		tok := r.str("access_token")
		if typ := headerOf(t, tok)["typ"]; typ != "JWT" {
			t.Fatalf("typ %v", typ)
		}
		c := claimsOf(t, tok)
		if c["sub"] != "u-alice" || c["azp"] != "console" || !reflect.DeepEqual(c["act"], map[string]any{"sub": "u-sam"}) ||
			!slices.Equal(stringList(c["aud"]), []string{"console"}) || c["iss"] != testIssuer {
			t.Fatalf("claims %v", c)
		}
		// An ID token is never accepted as an access token.
		r = e.exchange(url.Values{"subject_token": {tok}, "subject_token_type": {TokenTypeAccessToken}})
		wantError(t, r, http.StatusBadRequest, "invalid_request", "not an access token")
	})
}
