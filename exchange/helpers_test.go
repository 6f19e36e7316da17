package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/redistest"
)

const (
	testIssuer    = "https://actas.test"
	consoleSecret = "console-secret-0123456789abcdef0123456789abcdef"
	otherSecret   = "other-secret-0123456789abcdef0123456789abcdef"
	svcSecret     = "svc-secret-0123456789abcdef0123456789abcdef"
	ordersAPI     = "https://orders.example.com"
)

var testSecret = []byte("global-secret-0123456789abcdef-0123456789")

// testKeys are generated once for the package (RSA generation is slow).
var testKeys = sync.OnceValue(func() *keys.Holder {
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

// permissiveRules allow support/admin to impersonate customers from any client and network.
func permissiveRules() policy.Rules {
	r := policy.DefaultRules()
	r.Enabled = true
	r.AllowedClients = []string{"*"}
	r.AllowedAudiences = []string{"*"}
	return r
}

type oauthActor = oauth.Actor

// env is a real provider (fosite, memory store, keys) with the exchange grant.
type env struct {
	t       testing.TB
	kv      *failingKV
	store   *storage.Store
	prov    *oauth.Provider
	deps    oauth.GrantDeps
	h       *Handler
	mux     *http.ServeMux
	reps    *fakeReps
	audit   *recAudit
	issuer  string
	options Options
	// clientIP, when valid, is put in the request context as the token endpoint would.
	clientIP netip.Addr
	// newKV is the storage backend; memory by default.
	newKV func(testing.TB) storage.KV
}

// onRedis runs the env on a real Redis (or miniredis when none is available, see redistest).
func onRedis(e *env) { e.newKV = func(t testing.TB) storage.KV { return redistest.New(t) } }

func TestMain(m *testing.M) { redistest.Main(m) }

type envOpt func(*env)

func withOptions(f func(*Options)) envOpt { return func(e *env) { f(&e.options) } }

func withIssuerURL(iss string) envOpt { return func(e *env) { e.issuer = iss } }

func newEnv(t testing.TB, opts ...envOpt) *env {
	t.Helper()
	e := &env{t: t, issuer: testIssuer, reps: newFakeReps(), audit: &recAudit{}}
	engine, err := policy.New(permissiveRules())
	if err != nil {
		t.Fatal(err)
	}
	e.options = Options{Decider: engine, Representations: e.reps, Audit: e.audit,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(e)
	}
	if e.newKV == nil {
		e.newKV = func(testing.TB) storage.KV { return memory.New() }
	}
	e.kv = &failingKV{KV: e.newKV(t)}
	e.store = storage.NewStore(e.kv, storage.StoreOptions{})
	e.seed()
	e.prov, err = oauth.New(oauth.Options{
		Issuer: e.issuer, Store: e.store, Keys: testKeys(), GlobalSecret: testSecret,
		Lifespans: oauth.Lifespans{AccessToken: 10 * time.Minute, RefreshToken: 24 * time.Hour, IDToken: time.Hour},
		Login:     fakeLogin{}, Logger: e.options.Logger,
		Grants: []oauth.GrantFactory{func(d oauth.GrantDeps) (fosite.TokenEndpointHandler, error) {
			e.deps = d
			h, err := New(e.options, d)
			e.h = h
			return h, err
		}},
		ExtraGrantTypes: []string{GrantType},
		RefreshGuard:    RefreshGuard(e.options.Representations),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.mux = http.NewServeMux()
	e.prov.Routes(e.mux)
	return e
}

func (e *env) seed() {
	ctx := context.Background()
	hash := func(s string) []byte {
		h, _ := oauth.NewSecretHasher(testSecret).Hash(ctx, []byte(s))
		return h
	}
	all := []string{"openid", "profile", "offline_access", "impersonation", "orders:read", "orders:write", "payments:write"}
	clients := []*storage.Client{
		{ID: "console", SecretHash: hash(consoleSecret), RedirectURIs: []string{"http://127.0.0.1:5556/callback"}, FirstParty: true,
			GrantTypes: []string{GrantType, "refresh_token", "client_credentials", "authorization_code"},
			Scopes:     all, Audience: []string{e.issuer, ordersAPI, "orders"}, ExchangeFor: []string{"spa"}},
		{ID: "spa", Public: true, RedirectURIs: []string{"http://127.0.0.1:5555/callback"}, FirstParty: true, GrantTypes: []string{"authorization_code", "refresh_token", GrantType},
			Scopes: []string{"openid", "profile", "offline_access", "orders:read", "orders:write"}, Audience: []string{e.issuer}},
		{ID: "other", SecretHash: hash(otherSecret), GrantTypes: []string{GrantType, "client_credentials"},
			Scopes: []string{"orders:read", "openid", "offline_access"}, Audience: []string{e.issuer, "orders"}},
		{ID: "svc", SecretHash: hash(svcSecret), GrantTypes: []string{"client_credentials"},
			Scopes: []string{"orders:read"}, Audience: []string{e.issuer, "orders"}},
	}
	for _, c := range clients {
		if err := e.store.UpsertClient(ctx, c); err != nil {
			e.t.Fatal(err)
		}
	}
	users := []*storage.User{
		{ID: "u-alice", Username: "alice", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-bob", Username: "bob", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-dave", Username: "dave", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: false},
		{ID: "u-sam", Username: "sam", Roles: []string{"support"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-ada", Username: "ada", Roles: []string{"admin"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-sue", Username: "sue", Roles: []string{"super_admin"}, Tenant: "acme", ImpersonationAllowed: true},
	}
	for _, u := range users {
		if err := e.store.UpsertUser(ctx, u); err != nil {
			e.t.Fatal(err)
		}
	}
}

// mint is what an actas grant (authorization code, client credentials...) stores and signs.
type mint struct {
	client   string
	sub      string
	scopes   []string
	aud      []string
	ttl      time.Duration // default 10m; negative: already expired
	act      *oauth.Actor
	sid      string
	extra    map[string]any
	amr      []string
	authTime time.Time
	refresh  bool
}

type minted struct {
	access, refresh, requestID string
	exp                        time.Time
}

func (e *env) mint(m mint) minted {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.store.GetClient(ctx, m.client)
	if err != nil {
		e.t.Fatal(err)
	}
	s := e.deps.NewSession(m.sub)
	s.ClientID = m.client
	s.Act, s.SID, s.Extra, s.AMR = m.act, m.sid, m.extra, m.amr
	s.AuthTime = m.authTime
	if m.ttl == 0 {
		m.ttl = 10 * time.Minute
	}
	exp := time.Now().Add(m.ttl).UTC().Truncate(time.Second)
	s.SetExpiresAt(fosite.AccessToken, exp)
	s.SetExpiresAt(fosite.RefreshToken, time.Now().Add(24*time.Hour).UTC().Truncate(time.Second))
	ar := fosite.NewAccessRequest(s)
	ar.Client = c
	for _, sc := range m.scopes {
		ar.GrantScope(sc)
	}
	for _, a := range m.aud {
		ar.GrantAudience(a)
	}
	tok, sig, err := e.deps.Strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.deps.Storage.CreateAccessTokenSession(ctx, sig, ar.Sanitize(nil)); err != nil {
		e.t.Fatal(err)
	}
	out := minted{access: tok, requestID: ar.GetID(), exp: exp}
	if m.refresh {
		rt, rsig, err := e.deps.Strategy.GenerateRefreshToken(ctx, ar)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := e.deps.Storage.CreateRefreshTokenSession(ctx, rsig, sig, ar.Sanitize(nil)); err != nil {
			e.t.Fatal(err)
		}
		out.refresh = rt
	}
	return out
}

// agentToken is a support agent's fresh, MFA-backed access token issued to the console.
func (e *env) agentToken(sub string) string {
	return e.mint(mint{client: "console", sub: sub, scopes: []string{"openid"}, amr: []string{"pwd", "otp"},
		authTime: time.Now().Add(-time.Minute)}).access
}

// idToken signs an actas ID token with claims on top of sensible defaults.
func (e *env) idToken(claims map[string]any, header map[string]any) string {
	e.t.Helper()
	now := time.Now()
	c := jwt.MapClaims{"iss": e.issuer, "sub": "u-sam", "aud": []string{"console"}, "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "auth_time": now.Add(-time.Minute).Unix(), "amr": []string{"pwd", "otp"}}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	h := &jwt.Headers{Extra: header}
	tok, _, err := e.deps.Strategy.Signer.Generate(context.Background(), c, h)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// result is a token endpoint answer.
type result struct {
	status int
	body   map[string]any
}

func (r result) str(k string) string { s, _ := r.body[k].(string); return s }

func (r result) errCode() string { return r.str("error") }

// post calls the token endpoint in process (the full HTTP handler: client auth, fosite, exchange).
func (e *env) post(clientID, secret string, form url.Values) result {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	if e.clientIP.IsValid() {
		req = req.WithContext(WithClientIP(req.Context(), e.clientIP))
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		e.t.Fatalf("token endpoint answered %d with a non-JSON body %q", rec.Code, rec.Body.String())
	}
	return result{status: rec.Code, body: body}
}

// exchange posts a token-exchange request for the console client.
func (e *env) exchange(form url.Values) result {
	e.t.Helper()
	return e.post("console", consoleSecret, withGrant(form))
}

func withGrant(form url.Values) url.Values {
	f := url.Values{"grant_type": {GrantType}}
	for k, v := range form {
		f[k] = v
	}
	return f
}

// claimsOf decodes a JWT's payload without verifying it (the tests verify separately).
func claimsOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func headerOf(t testing.TB, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// introspect asks the provider about a token (RFC 7662) as the console.
func (e *env) introspect(tok string) map[string]any {
	e.t.Helper()
	form := url.Values{"token": {tok}}
	req := httptest.NewRequest(http.MethodPost, "/oauth2/introspect", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("console", consoleSecret)
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		e.t.Fatalf("introspection: %d %q", rec.Code, rec.Body.String())
	}
	return m
}

// wantError checks an error answer: status, code and a fragment of the description.
func wantError(t testing.TB, r result, status int, code, fragment string) {
	t.Helper()
	if r.status != status || r.errCode() != code {
		t.Fatalf("got %d %q (%s), want %d %q", r.status, r.errCode(), r.str("error_description"), status, code)
	}
	if fragment != "" && !strings.Contains(r.str("error_description"), fragment) {
		t.Fatalf("error_description %q does not contain %q", r.str("error_description"), fragment)
	}
}

func wantOK(t testing.TB, r result) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got %d %q: %s", r.status, r.errCode(), r.str("error_description"))
	}
}

// sessionWithSID is a bare session carrying a representation id.
func (*env) sessionWithSID(sid string) *oauth.Session {
	s := oauth.NewSession("u-bob")
	s.SID = sid
	return s
}
