package oauth_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

type noLogin struct{}

func (noLogin) Current(*http.Request) (*storage.LoginSession, error) { return nil, storage.ErrNotFound }
func (noLogin) LoginURL(string, string, string) string               { return "/login" }
func (noLogin) HasConsent(context.Context, string, string, []string) (bool, error) {
	return false, nil
}
func (noLogin) ConsentURL(context.Context, string, string, string, []string) (string, error) {
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
