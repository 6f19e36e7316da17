package exchange

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
)

// idp is a trusted issuer on an httptest server: discovery, a JWKS that can be rotated, and a
// count of JWKS fetches.
type idp struct {
	srv       *httptest.Server
	mu        sync.Mutex
	published []jose.JSONWebKey // private keys whose public halves are served
	fetches   atomic.Int32
	down      atomic.Bool
}

var rsaTestKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newIDP(t testing.TB) *idp {
	p := &idp{}
	p.published = []jose.JSONWebKey{p.newKey(t, "k1")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/keys"})
	})
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) {
		p.fetches.Add(1)
		if p.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		p.mu.Lock()
		set := jose.JSONWebKeySet{}
		for _, k := range p.published {
			set.Keys = append(set.Keys, k.Public())
		}
		p.mu.Unlock()
		// A symmetric key in the set must never be used.
		raw, _ := json.Marshal(set)
		var doc map[string]any
		_ = json.Unmarshal(raw, &doc)
		doc["keys"] = append(doc["keys"].([]any), map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0", "alg": "HS256"})
		_ = json.NewEncoder(w).Encode(doc)
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) newKey(t testing.TB, kid string) jose.JSONWebKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: string(jose.ES256), Use: "sig"}
}

// rotate publishes keys (replacing the set).
func (p *idp) rotate(keys ...jose.JSONWebKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = keys
}

// sign makes a JWT with key, typ and claims (defaults: iss, aud actas, sub, exp, iat).
func (p *idp) sign(t testing.TB, key jose.JSONWebKey, typ string, claims map[string]any) string {
	t.Helper()
	now := time.Now()
	c := map[string]any{"iss": p.srv.URL, "aud": "actas", "sub": "ext-agent", "iat": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(), "scope": "orders:read openid"}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Algorithm), Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := josejwt.Signed(s).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (p *idp) key(i int) jose.JSONWebKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.published[i]
}

// testClock is a settable clock for Options.Now.
type testClock struct{ off atomic.Int64 }

func (c *testClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) Advance(d time.Duration) { c.off.Add(int64(d)) }
func (p *idp) trusted() TrustedIssuer {
	return TrustedIssuer{Issuer: p.srv.URL, Algorithms: []string{"ES256"}, Audience: "actas"}
}
func withTrusted(ts ...TrustedIssuer) envOpt {
	return withOptions(func(o *Options) { o.TrustedIssuers = ts })
}
func withClock(c *testClock) envOpt  { return withOptions(func(o *Options) { o.Now = c.Now }) }
func withHTTP(c *http.Client) envOpt { return withOptions(func(o *Options) { o.HTTPClient = c }) }
func (p *idp) opts(ti TrustedIssuer) []envOpt {
	return []envOpt{withTrusted(ti), withHTTP(p.srv.Client())}
}
func b64(v any) string                               { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
func jwtWith(h, c map[string]any, sig string) string { return b64(h) + "." + b64(c) + "." + sig }

func TestTrustedIssuerTokens(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	at := func(claims map[string]any) string { return p.sign(t, p.key(0), "at+jwt", claims) }
	type tc struct {
		name     string
		ti       func(TrustedIssuer) TrustedIssuer
		client   string
		form     func(e *env) url.Values
		code     string
		fragment string
		check    func(t *testing.T, c map[string]any)
	}
	tests := []tc{
		{name: "ok/subject-downscoping", form: func(*env) url.Values {
			f := subjectForm(at(nil), TokenTypeAccessToken)
			f.Set("scope", "orders:read")
			return f
		}, check: func(t *testing.T, c map[string]any) {
			if c["sub"] != "ext-agent" || c["scope"] != "orders:read" || c["act"] != nil {
				t.Fatalf("claims %v", c)
			}
		}},
		{name: "ok/subject-act-gets-issuer", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"act": map[string]any{"sub": "bot"}}), TokenTypeAccessToken)
		}, check: func(t *testing.T, c map[string]any) {
			if !reflect.DeepEqual(c["act"], map[string]any{"sub": "bot", "iss": p.srv.URL}) {
				t.Fatalf("act %v", c["act"])
			}
		}},
		{name: "ok/actor-delegation-keeps-iss", form: func(e *env) url.Values {
			return delegationForm(e, at(nil), TokenTypeAccessToken)
		}, check: func(t *testing.T, c map[string]any) {
			if c["sub"] != "u-alice" || !reflect.DeepEqual(c["act"], map[string]any{"sub": "ext-agent", "iss": p.srv.URL}) {
				t.Fatalf("claims %v", c)
			}
		}},
		{name: "ok/actor-id-token", form: func(e *env) url.Values {
			return delegationForm(e, p.sign(t, p.key(0), "JWT", map[string]any{"nonce": "n-123456"}), TokenTypeIDToken)
		}},
		{name: "ok/impersonation-with-claim-mapping", ti: func(ti TrustedIssuer) TrustedIssuer {
			ti.Claims = ClaimMapping{Roles: "groups", Tenant: "org"}
			return ti
		}, form: func(*env) url.Values {
			return impForm(at(map[string]any{"groups": []string{"support"}, "org": "acme", "amr": []string{"mfa"},
				"auth_time": time.Now().Unix()}), "u-bob")
		}, check: func(t *testing.T, c map[string]any) {
			if c["sub"] != "u-bob" || !reflect.DeepEqual(c["act"], map[string]any{"sub": "ext-agent", "iss": p.srv.URL}) || c["sid"] == nil {
				t.Fatalf("claims %v", c)
			}
		}},
		{name: "fail/impersonation-unmapped-roles", form: func(*env) url.Values {
			return impForm(at(map[string]any{"groups": []string{"support"}, "amr": []string{"mfa"}, "auth_time": time.Now().Unix()}), "u-bob")
		}, code: "invalid_request", fragment: "[reason=not_impersonator]"},
		{name: "fail/expired-within-skew-issues-nothing", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"exp": time.Now().Add(-20 * time.Second).Unix()}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "expires now"},
		{name: "fail/rule5-wrong-audience", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"aud": "someone-else"}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "audience must contain 'actas'"},
		{name: "fail/rule5-client-not-allowed", ti: func(ti TrustedIssuer) TrustedIssuer { ti.Clients = []string{"other"}; return ti },
			form: func(*env) url.Values { return subjectForm(at(nil), TokenTypeAccessToken) },
			code: "invalid_request", fragment: "may not present tokens of the issuer"},
		{name: "fail/expired", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"exp": time.Now().Add(-5 * time.Minute).Unix()}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "has expired"},
		{name: "fail/not-yet-valid", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"nbf": time.Now().Add(5 * time.Minute).Unix()}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "not valid yet"},
		{name: "fail/issued-in-the-future", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"iat": time.Now().Add(5 * time.Minute).Unix()}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "issued in the future"},
		{name: "fail/no-exp", form: func(*env) url.Values { return subjectForm(at(map[string]any{"exp": nil}), TokenTypeAccessToken) },
			code: "invalid_request", fragment: "no expiry"},
		{name: "fail/forged-signature", form: func(*env) url.Values {
			tok := at(nil)
			parts := strings.Split(tok, ".")
			c := claimsOf(t, tok)
			c["sub"] = "u-ada"
			return subjectForm(parts[0]+"."+b64(c)+"."+parts[2], TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "signature is invalid"},
		{name: "fail/alg-none", form: func(*env) url.Values {
			return subjectForm(jwtWith(map[string]any{"alg": "none", "kid": "k1", "typ": "at+jwt"}, claimsOf(t, at(nil)), ""), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "'none' and HMAC algorithms are never accepted"},
		{name: "fail/hmac-confusion-with-public-key", form: func(*env) url.Values {
			k := p.key(0)
			pub, _ := x509.MarshalPKIXPublicKey(k.Public().Key)
			in := b64(map[string]any{"alg": "HS256", "kid": "k1", "typ": "at+jwt"}) + "." + b64(claimsOf(t, at(nil)))
			m := hmac.New(sha256.New, pub)
			m.Write([]byte(in))
			return subjectForm(in+"."+base64.RawURLEncoding.EncodeToString(m.Sum(nil)), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "'none' and HMAC algorithms are never accepted"},
		{name: "fail/hmac-with-published-oct-key", form: func(*env) url.Values {
			in := b64(map[string]any{"alg": "HS256", "kid": "hmac", "typ": "at+jwt"}) + "." + b64(claimsOf(t, at(nil)))
			m := hmac.New(sha256.New, []byte("secret"))
			m.Write([]byte(in))
			return subjectForm(in+"."+base64.RawURLEncoding.EncodeToString(m.Sum(nil)), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "never accepted"},
		{name: "fail/algorithm-not-allowed-for-issuer", form: func(*env) url.Values {
			k := jose.JSONWebKey{Key: rsaTestKey(), KeyID: "k1", Algorithm: "RS256"}
			return subjectForm(p.sign(t, k, "at+jwt", nil), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "allowed for its issuer (ES256)"},
		{name: "fail/unknown-kid", form: func(*env) url.Values {
			return subjectForm(p.sign(t, p.newKey(t, "rogue"), "at+jwt", nil), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "key id is not one of its issuer's published keys"},
		{name: "fail/untyped-access-token", form: func(*env) url.Values {
			return subjectForm(p.sign(t, p.key(0), "JWT", nil), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "not an access token"},
		{name: "ok/untyped-access-token-when-configured", ti: func(ti TrustedIssuer) TrustedIssuer {
			ti.AccessTokenTypes = []string{"at+jwt", "JWT"}
			return ti
		}, form: func(*env) url.Values { return subjectForm(p.sign(t, p.key(0), "JWT", nil), TokenTypeAccessToken) }},
		{name: "fail/id-token-as-access-token-even-when-untyped-allowed", ti: func(ti TrustedIssuer) TrustedIssuer {
			ti.AccessTokenTypes = []string{"JWT"}
			return ti
		}, form: func(*env) url.Values {
			return subjectForm(p.sign(t, p.key(0), "JWT", map[string]any{"nonce": "n-123456"}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "it is an ID token"},
		{name: "fail/access-token-as-id-token", form: func(e *env) url.Values {
			return delegationForm(e, at(nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "not an ID token"},
		{name: "fail/logout-token", form: func(e *env) url.Values {
			return delegationForm(e, p.sign(t, p.key(0), "", map[string]any{"events": map[string]any{"x": map[string]any{}}}), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "logout token"},
		{name: "fail/untrusted-issuer", form: func(*env) url.Values {
			return subjectForm(at(map[string]any{"iss": "https://elsewhere.example"}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "neither this server nor a trusted issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ti := p.trusted()
			if tt.ti != nil {
				ti = tt.ti(ti)
			}
			e := newEnv(t, p.opts(ti)...)
			cl, secret := "console", consoleSecret
			r := e.post(cl, secret, withGrant(tt.form(e)))
			if tt.code != "" {
				wantError(t, r, http.StatusBadRequest, tt.code, tt.fragment)
				return
			}
			wantOK(t, r)
			if tt.check != nil {
				tt.check(t, claimsOf(t, r.str("access_token")))
			}
		})
	}
}

// TestTrustedIssuerKeyRotation: an unknown kid causes exactly one refetch per refresh interval;
// the cached keys serve everything else.
func TestTrustedIssuerKeyRotation(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	clock := &testClock{}
	ti := p.trusted()
	ti.JWKSURL = "" // discovery
	e := newEnv(t, append(p.opts(ti), withClock(clock))...)
	exchange := func(tok string) result { return e.exchange(subjectForm(tok, TokenTypeAccessToken)) }
	sign := func(k jose.JSONWebKey) string { // times on the test clock
		now := clock.Now()
		return p.sign(t, k, "at+jwt", map[string]any{"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	}

	k1 := p.key(0)
	wantOK(t, exchange(sign(k1)))
	wantOK(t, exchange(sign(k1)))
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times for two tokens, want 1", n)
	}

	// The issuer rotates to k2; after the refresh interval, the first k2 token refetches once.
	k2 := p.newKey(t, "k2")
	p.rotate(k1, k2)
	clock.Advance(2 * time.Minute)
	wantOK(t, exchange(sign(k2)))
	wantOK(t, exchange(sign(k2)))
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after the rotation, want exactly 2", n)
	}

	// A burst of unknown kids within the interval causes no further fetch.
	for i := 0; i < 5; i++ {
		wantError(t, exchange(sign(p.newKey(t, "rogue"))), http.StatusBadRequest, "invalid_request", "not one of its issuer's published keys")
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("unknown kids caused %d fetches, want none beyond 2", n)
	}

	// The issuer is down after the cache TTL: the keys fetched before stay in use.
	p.down.Store(true)
	clock.Advance(20 * time.Minute)
	wantOK(t, exchange(sign(k2)))
	if n := p.fetches.Load(); n != 3 {
		t.Fatalf("fetches %d, want one failed attempt after the TTL", n)
	}
}

func TestTrustedIssuerUnavailable(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	p.down.Store(true)
	e := newEnv(t, p.opts(p.trusted())...)
	r := e.exchange(subjectForm(p.sign(t, p.key(0), "at+jwt", nil), TokenTypeAccessToken))
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable", "could not be fetched")
}

func TestTrustedIssuerOptions(t *testing.T) {
	t.Parallel()
	valid := TrustedIssuer{Issuer: "https://idp.example", Algorithms: []string{"RS256"}, Audience: "actas"}
	tests := []struct {
		name  string
		mod   func(*TrustedIssuer)
		valid bool
	}{
		{"ok/minimal", func(*TrustedIssuer) {}, true},
		{"fail/alg-none", func(t *TrustedIssuer) { t.Algorithms = []string{"none"} }, false},
		{"fail/hmac", func(t *TrustedIssuer) { t.Algorithms = []string{"RS256", "HS256"} }, false},
		{"fail/no-algorithms", func(t *TrustedIssuer) { t.Algorithms = nil }, false},
		{"fail/no-audience", func(t *TrustedIssuer) { t.Audience = "" }, false},
		{"fail/relative-issuer", func(t *TrustedIssuer) { t.Issuer = "idp" }, false},
		{"fail/bad-jwks-url", func(t *TrustedIssuer) { t.JWKSURL = "file:///etc/keys" }, false},
		{"fail/skew-too-large", func(t *TrustedIssuer) { t.ClockSkew = time.Hour }, false},
	}
	for _, tt := range tests {
		ti := valid
		tt.mod(&ti)
		_, err := Options{TrustedIssuers: []TrustedIssuer{ti}}.withDefaults()
		if (err == nil) != tt.valid {
			t.Errorf("%s: err = %v", tt.name, err)
		}
	}
	if _, err := (Options{TrustedIssuers: []TrustedIssuer{valid, valid}}).withDefaults(); err == nil {
		t.Error("fail/duplicate-issuer: accepted")
	}
	if _, err := (Options{MaxActDepth: 33}).withDefaults(); err == nil {
		t.Error("fail/act-depth: accepted")
	}
}

// TestTrustedIssuerFetchOutlivesCaller: the key fetch an unknown kid triggers is shared and spends
// the refresh interval, so it must not end with the request that started it: a caller that hangs
// up at once (a made-up kid, no valid signature needed) must not leave the next legitimate token of
// a rotated key unverifiable for the rest of the interval.
func TestTrustedIssuerFetchOutlivesCaller(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	clock := &testClock{}
	ti := p.trusted()
	ti.CacheTTL, ti.RefreshInterval = 15*time.Minute, time.Minute
	c := newKeyCache(&ti, p.srv.Client(), clock.Now)
	if _, err := c.key(context.Background(), "k1", "ES256"); err != nil {
		t.Fatal(err)
	}
	p.rotate(p.newKey(t, "k2"))
	clock.Advance(2 * time.Minute)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = c.key(gone, "k2", "ES256") // the caller hung up before the fetch
	if _, err := c.key(context.Background(), "k2", "ES256"); err != nil {
		t.Fatalf("a token of the rotated key after a cancelled fetch: %v", err)
	}
}
