package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/redistest"
)

const (
	repIssuer        = "https://actas.rep.test"
	repConsoleSecret = "rep-console-secret-0123456789abcdef0123456789abcdef"
	repRPSecret      = "rep-rp-secret-0123456789abcdef0123456789abcdef"
	repReason        = "customer called about order 42"
)

var repSecret = []byte("rep-global-secret-0123456789abcdef-0123456789")

// repKeys are generated once for the package's representation tests (RSA generation is slow).
var repKeys = sync.OnceValue(func() *keys.Holder {
	var ks []keys.Key
	for _, alg := range []string{keys.ES256, keys.RS256} {
		k, err := keys.Generate(alg)
		if err != nil {
			panic(err)
		}
		ks = append(ks, k)
	}
	set, err := keys.NewSet(ks)
	if err != nil {
		panic(err)
	}
	return keys.NewHolder(set)
})

// repBackends are the storage backends every representation test runs on: memory, and a real
// Redis (redistest: a throwaway redis-server, or miniredis when none is installed).
var repBackends = []struct {
	name string
	kv   func(testing.TB) storage.KV
}{
	{"memory", func(testing.TB) storage.KV { return memory.New() }},
	{"redis", func(t testing.TB) storage.KV { return redistest.New(t) }},
}

// repEnv is a real provider with the exchange grant and the representation service over one
// storage backend, and the service's API on the same mux.
type repEnv struct {
	t      testing.TB
	kv     *repFaultKV
	store  *storage.Store
	svc    *Service
	prov   *oauth.Provider
	deps   oauth.GrantDeps
	mux    *http.ServeMux
	clock  *repClock
	audit  *repAudit
	logins *repLogins
	opts   ServiceOptions
	// base is the raw backend, for building a second service ("process") over it.
	base storage.KV
	// reqCtx is the context of the exchanges impersonate sends.
	reqCtx context.Context
}

type repOpt func(*repEnv)

// repWith adjusts the service options before the service is built.
func repWith(f func(*ServiceOptions)) repOpt { return func(e *repEnv) { f(&e.opts) } }

// repOnKV runs the env over kv (shared with another env: a second process).
func repOnKV(kv storage.KV) repOpt { return func(e *repEnv) { e.base = kv } }

// repClocked shares a settable clock between the service and a memory backend.
func repClocked() repOpt {
	return func(e *repEnv) {
		e.base = memory.New(memory.WithClock(e.clock.Now))
		e.opts.Now = e.clock.Now
	}
}

// repClockFor shares the settable clock with a memory backend, and with the service only on
// Redis (which expires keys on its own clock).
func repClockFor(backend string) repOpt {
	if backend == "memory" {
		return repClocked()
	}
	return func(e *repEnv) { e.opts.Now = e.clock.Now }
}

func newRepEnv(t testing.TB, newKV func(testing.TB) storage.KV, opts ...repOpt) *repEnv {
	t.Helper()
	e := &repEnv{t: t, clock: &repClock{}, audit: &repAudit{}, logins: &repLogins{}, reqCtx: context.Background()}
	e.opts = ServiceOptions{Issuer: repIssuer, LogoutSigner: repKeys().Signer(keys.RS256),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Audit: e.audit, LoginSessions: e.logins,
		BackchannelBackoff: 5 * time.Millisecond, BackchannelTimeout: 2 * time.Second, Resweep: 20 * time.Millisecond}
	for _, o := range opts {
		o(e)
	}
	if e.base == nil {
		e.base = newKV(t)
	}
	e.kv = &repFaultKV{KV: e.base}
	e.store = storage.NewStore(e.kv, storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	e.seed()
	e.opts.KV, e.opts.Store = e.kv, e.store
	svc, err := NewService(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	})
	rules := policy.DefaultRules()
	rules.Enabled, rules.AllowedClients, rules.AllowedAudiences = true, []string{"*"}, []string{"*"}
	engine, err := policy.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	xo := Options{Decider: engine, Representations: svc, Audit: e.opts.Audit, Logger: e.opts.Logger}
	e.prov, err = oauth.New(oauth.Options{
		Issuer: repIssuer, Store: e.store, Keys: repKeys(), GlobalSecret: repSecret,
		Lifespans: oauth.Lifespans{AccessToken: 10 * time.Minute, RefreshToken: 24 * time.Hour, IDToken: time.Hour},
		Login:     repLoginFake{}, Logger: e.opts.Logger,
		Grants: []oauth.GrantFactory{func(d oauth.GrantDeps) (fosite.TokenEndpointHandler, error) {
			e.deps = d
			return New(xo, d)
		}},
		ExtraGrantTypes: []string{GrantType},
		RefreshGuard:    RefreshGuard(svc),
	})
	if err != nil {
		t.Fatal(err)
	}
	svc.SetAuthenticator(e.prov)
	e.mux = http.NewServeMux()
	e.prov.Routes(e.mux)
	svc.Routes(e.mux)
	return e
}

func (e *repEnv) seed() {
	ctx := context.Background()
	hash := func(s string) []byte {
		h, _ := oauth.NewSecretHasher(repSecret).Hash(ctx, []byte(s))
		return h
	}
	clients := []*storage.Client{
		{ID: "console", SecretHash: hash(repConsoleSecret), FirstParty: true,
			GrantTypes: []string{GrantType, "refresh_token", "client_credentials"},
			Scopes:     []string{"openid", "offline_access", "impersonation", "orders:read", APIScope, AuditorScope},
			Audience:   []string{repIssuer, "https://orders.example.com"}},
		{ID: "spa", Public: true, FirstParty: true, GrantTypes: []string{"authorization_code", "refresh_token"},
			Scopes: []string{"openid", "offline_access", "orders:read"}, Audience: []string{repIssuer}},
		{ID: "rp", SecretHash: hash(repRPSecret), GrantTypes: []string{"client_credentials"}, Scopes: []string{"orders:read"}},
	}
	for _, c := range clients {
		if err := e.store.UpsertClient(ctx, c); err != nil {
			e.t.Fatal(err)
		}
	}
	for _, u := range []*storage.User{
		{ID: "u-alice", Username: "alice", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-bob", Username: "bob", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-carol", Username: "carol", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-sam", Username: "sam", Roles: []string{"support"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-sky", Username: "sky", Roles: []string{"support"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-ada", Username: "ada", Roles: []string{"admin"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-otto", Username: "otto", Roles: []string{"auditor"}, Tenant: "acme", ImpersonationAllowed: true},
	} {
		if err := e.store.UpsertUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
	}
}

// setBackchannel registers uri as the client's back-channel logout URI.
func (e *repEnv) setBackchannel(clientID, uri string) {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.store.GetClient(ctx, clientID)
	if err != nil {
		e.t.Fatal(err)
	}
	sc := *c.(*storage.Client)
	sc.BackchannelLogoutURI = uri
	if err := e.store.UpsertClient(ctx, &sc); err != nil {
		e.t.Fatal(err)
	}
}

// token mints an access token as an actas grant would: for client, of sub, with scopes, a fresh
// two-factor authentication, and actas in its audience.
func (e *repEnv) token(client, sub string, scopes ...string) string {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.store.GetClient(ctx, client)
	if err != nil {
		e.t.Fatal(err)
	}
	s := e.deps.NewSession(sub)
	s.ClientID, s.AMR, s.AuthTime = client, []string{"pwd", "otp"}, time.Now().Add(-time.Minute)
	s.SetExpiresAt(fosite.AccessToken, time.Now().Add(10*time.Minute).UTC().Truncate(time.Second))
	ar := fosite.NewAccessRequest(s)
	ar.Client = c
	for _, sc := range scopes {
		ar.GrantScope(sc)
	}
	tok, sig, err := e.deps.Strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.deps.Storage.CreateAccessTokenSession(ctx, sig, ar.Sanitize(nil)); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// agent is a support agent's console token, allowed to impersonate and to use the API.
func (e *repEnv) agent(sub string) string { return e.token("console", sub, "openid", APIScope) }

// repAnswer is an HTTP answer with a JSON body.
type repAnswer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a repAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

// do serves one request in process.
func (e *repEnv) do(method, path, bearer string, form url.Values, basic ...string) repAnswer {
	e.t.Helper()
	return e.doCtx(context.Background(), method, path, bearer, form, basic...)
}

// doCtx is do with the request's context (a client that goes away cancels it).
func (e *repEnv) doCtx(ctx context.Context, method, path, bearer string, form url.Values, basic ...string) repAnswer {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequestWithContext(ctx, method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	a := repAnswer{status: rec.Code, header: rec.Header()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			e.t.Fatalf("%s %s: %d with a non-JSON body %q", method, path, rec.Code, rec.Body.String())
		}
	}
	return a
}

// impersonate has the console exchange the actor token for a token of target.
func (e *repEnv) impersonate(actorToken, target string, extra ...string) repAnswer {
	e.t.Helper()
	f := url.Values{"grant_type": {GrantType}, "subject_token": {target}, "subject_token_type": {TokenTypeUserID},
		"actor_token": {actorToken}, "actor_token_type": {TokenTypeAccessToken},
		"scope": {"impersonation openid orders:read offline_access"}, "reason": {repReason}, "ticket": {"SUP-42"}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return e.doCtx(e.reqCtx, http.MethodPost, "/oauth2/token", "", f, "console", repConsoleSecret)
}

// mustImpersonate impersonates and returns the answer and the representation id (sid).
func (e *repEnv) mustImpersonate(actorToken, target string) (repAnswer, string) {
	e.t.Helper()
	a := e.impersonate(actorToken, target)
	if a.status != http.StatusOK {
		e.t.Fatalf("impersonation of %s: %d %v", target, a.status, a.body)
	}
	sid, _ := claimsOfRep(e.t, a.str("access_token"))["sid"].(string)
	if !repValidID(sid) {
		e.t.Fatalf("sid %q is not a representation id", sid)
	}
	return a, sid
}

func (e *repEnv) introspect(tok string) map[string]any {
	e.t.Helper()
	return e.do(http.MethodPost, "/oauth2/introspect", "", url.Values{"token": {tok}}, "console", repConsoleSecret).body
}

func (e *repEnv) refresh(rt string) repAnswer {
	e.t.Helper()
	return e.do(http.MethodPost, "/oauth2/token", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}},
		"console", repConsoleSecret)
}

// reexchange presents tok as the subject token of a downscoping exchange.
func (e *repEnv) reexchange(tok string) repAnswer {
	e.t.Helper()
	return e.do(http.MethodPost, "/oauth2/token", "", url.Values{"grant_type": {GrantType}, "subject_token": {tok},
		"subject_token_type": {TokenTypeAccessToken}, "scope": {"openid"}}, "console", repConsoleSecret)
}

// rawKV reads a key of the backend directly (nil when missing).
func (e *repEnv) rawKV(key string) []byte {
	e.t.Helper()
	v, err := e.base.Get(context.Background(), key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// checkLockInvariant fails unless the actor's lock and sessions agree: a lock names an existing
// session of this actor; a session that is active at now is the one the lock names.
func (e *repEnv) checkLockInvariant(actor string, ids ...string) {
	e.t.Helper()
	a := repTag("", actor)
	lock := e.rawKV(repLockKey(a))
	if lock != nil && e.rawKV(repSessionKey(a, string(lock))) == nil {
		e.t.Fatalf("lock of %s names %s, which has no session", actor, lock)
	}
	for _, id := range ids {
		raw := e.rawKV(repSessionKey(a, id))
		if raw == nil {
			continue
		}
		rec, err := decodeRep(raw)
		if err != nil {
			e.t.Fatal(err)
		}
		if !rec.Ended(e.svc.o.Now()) && string(lock) != id {
			e.t.Fatalf("session %s of %s is active without its lock (lock %q)", id, actor, lock)
		}
	}
}

func claimsOfRep(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	var m map[string]any
	if err := json.NewDecoder(base64.NewDecoder(base64.RawURLEncoding, strings.NewReader(parts[1]))).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// repStartReq is a valid StartRequest of target by actor.
func repStartReq(actor, target string) StartRequest {
	return StartRequest{Actor: actor, Target: target, ClientID: "console", Reason: repReason, Ticket: "SUP-42",
		TTL: time.Hour, Scopes: []string{"openid"}, Audiences: []string{repIssuer}}
}
