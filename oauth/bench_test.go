package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

type noLogin struct{}

func (noLogin) Current(*http.Request) (*storage.LoginSession, error) { return nil, storage.ErrNotFound }
func (noLogin) LoginURL(string, string, string) string               { return "/login" }
func (noLogin) RecordClient(context.Context, *storage.LoginSession, string) error {
	return nil
}
func (noLogin) HasConsent(context.Context, string, string, []string) (bool, error) {
	return false, nil
}
func (noLogin) ConsentURL(context.Context, string, string, string, string, []string) (string, error) {
	return "/consent", nil
}
func (noLogin) EndLoginSession(context.Context, http.ResponseWriter, *http.Request) error { return nil }

const benchSecret = "bench-secret-0123456789abcdefghijklmnopqrstuv"

// benchProvider is a provider on the memory store with one confidential client.
func benchProvider(tb testing.TB) http.Handler {
	tb.Helper()
	ctx := context.Background()
	es, _ := keys.Generate(keys.ES256)
	rs, _ := keys.Generate(keys.RS256)
	set, err := keys.NewSet([]keys.Key{es, rs})
	if err != nil {
		tb.Fatal(err)
	}
	store := storage.NewStore(memory.New(), storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	secret := []byte("0123456789abcdef0123456789abcdef")
	h := oauth.NewSecretHasher(secret)
	hash, _ := h.Hash(ctx, []byte(benchSecret))
	if err := store.UpsertClient(ctx, &storage.Client{ID: "c", SecretHash: hash, GrantTypes: []string{"client_credentials"},
		Scopes: []string{"api"}}); err != nil {
		tb.Fatal(err)
	}
	p, err := oauth.New(oauth.Options{Issuer: "http://127.0.0.1:8080", Store: store, Keys: keys.NewHolder(set),
		GlobalSecret: secret, Login: noLogin{}})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Routes(mux)
	return mux
}

func post(h http.Handler, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("c", benchSecret)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// BenchmarkClientCredentials issues one ES256 JWT access token per op, in process (no network).
func BenchmarkClientCredentials(b *testing.B) {
	h := benchProvider(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if rec := post(h, "/oauth2/token", "grant_type=client_credentials&scope=api"); rec.Code != 200 {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// BenchmarkIntrospect introspects a live JWT access token (signature + storage lookup), in process.
func BenchmarkIntrospect(b *testing.B) {
	h := benchProvider(b)
	rec := post(h, "/oauth2/token", "grant_type=client_credentials&scope=api")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	body := "token=" + url.QueryEscape(tok.AccessToken)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := post(h, "/oauth2/introspect", body)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"active":true`) {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// signedIn is a login that always has alice signed in with consent given.
type signedIn struct{ noLogin }

func (signedIn) Current(*http.Request) (*storage.LoginSession, error) {
	now := time.Now()
	return &storage.LoginSession{ID: "ls-bench", Subject: "u-alice", AuthTime: now, AMR: []string{"pwd"},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, nil
}
func (signedIn) HasConsent(context.Context, string, string, []string) (bool, error) { return true, nil }

// BenchmarkRefresh rotates a refresh token per op (the old one is marked used, a new access token,
// ID token and refresh token are issued), in process; each goroutine refreshes its own grant.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	es, _ := keys.Generate(keys.ES256)
	rs, _ := keys.Generate(keys.RS256)
	set, err := keys.NewSet([]keys.Key{es, rs})
	if err != nil {
		b.Fatal(err)
	}
	store := storage.NewStore(memory.New(), storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	secret := []byte("0123456789abcdef0123456789abcdef")
	hash, _ := oauth.NewSecretHasher(secret).Hash(ctx, []byte(benchSecret))
	if err := store.UpsertClient(ctx, &storage.Client{ID: "c", SecretHash: hash, FirstParty: true,
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		Scopes: []string{"openid", "offline_access"}, RedirectURIs: []string{"http://127.0.0.1:5555/cb"}}); err != nil {
		b.Fatal(err)
	}
	if err := store.UpsertUser(ctx, &storage.User{ID: "u-alice", Username: "alice"}); err != nil {
		b.Fatal(err)
	}
	p, err := oauth.New(oauth.Options{Issuer: "http://127.0.0.1:8080", Store: store, Keys: keys.NewHolder(set),
		GlobalSecret: secret, Login: signedIn{}})
	if err != nil {
		b.Fatal(err)
	}
	h := http.NewServeMux()
	p.Routes(h)
	grant := func() string {
		q := url.Values{"response_type": {"code"}, "client_id": {"c"}, "redirect_uri": {"http://127.0.0.1:5555/cb"},
			"scope": {"openid offline_access"}, "state": {"bench-state-1"}, "nonce": {"bench-nonce-1"}}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/auth?"+q.Encode(), nil))
		loc, err := url.Parse(rec.Header().Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			b.Fatalf("authorize: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
		}
		tok := post(h, "/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
			"redirect_uri": {"http://127.0.0.1:5555/cb"}}.Encode())
		var out struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := json.Unmarshal(tok.Body.Bytes(), &out); err != nil || out.RefreshToken == "" {
			b.Fatalf("code redemption: %d %s", tok.Code, tok.Body)
		}
		return out.RefreshToken
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		b.StopTimer()
		rt := grant()
		b.StartTimer()
		for pb.Next() {
			rec := post(h, "/oauth2/token", "grant_type=refresh_token&refresh_token="+url.QueryEscape(rt))
			var out struct {
				RefreshToken string `json:"refresh_token"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Code != 200 || err != nil || out.RefreshToken == "" {
				b.Fatalf("refresh: %d %s", rec.Code, rec.Body)
			}
			rt = out.RefreshToken
		}
	})
}
