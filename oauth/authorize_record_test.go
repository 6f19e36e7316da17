package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// recordingLogin is a Login whose browser is always signed in as u-alice and which records the
// clients of the login session (or fails as fail says).
type recordingLogin struct {
	noLogin
	fail    string // "down": storage unavailable; "ended": the session ended meanwhile
	mu      sync.Mutex
	clients []string
}

func (l *recordingLogin) Current(*http.Request) (*storage.LoginSession, error) {
	return &storage.LoginSession{ID: "ls-1", Subject: "u-alice", AuthTime: time.Now(), AMR: []string{"pwd"},
		ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (l *recordingLogin) RecordClient(_ context.Context, ls *storage.LoginSession, clientID string) error {
	switch l.fail {
	case "down":
		return fmt.Errorf("connection refused: %w", storage.ErrUnavailable)
	case "ended":
		return fmt.Errorf("the session has ended: %w", login.ErrNoSession)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.clients = append(l.clients, ls.ID+" "+clientID)
	return nil
}

// TestAuthorizeRecordsClient: an authorization response is issued only once its client is recorded
// under the login session (for the session's back-channel logout); when that record cannot be
// written nothing is issued (503), and when the session ended meanwhile the client gets
// login_required.
func TestAuthorizeRecordsClient(t *testing.T) {
	ctx := context.Background()
	es, _ := keys.Generate(keys.ES256)
	rs, _ := keys.Generate(keys.RS256)
	set, err := keys.NewSet([]keys.Key{es, rs})
	if err != nil {
		t.Fatal(err)
	}
	store := storage.NewStore(memory.New(), storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	if err := store.UpsertUser(ctx, &storage.User{ID: "u-alice", Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	const redirect = "http://127.0.0.1:5555/callback"
	if err := store.UpsertClient(ctx, &storage.Client{ID: "app", Public: true, FirstParty: true, RedirectURIs: []string{redirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid", "offline_access"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, fail string }{{"ok/recorded", ""}, {"fail/store-down", "down"}, {"fail/session-ended", "ended"}} {
		t.Run(tc.name, func(t *testing.T) {
			login := &recordingLogin{fail: tc.fail}
			p, err := oauth.New(oauth.Options{Issuer: "http://127.0.0.1:8080", Store: store, Keys: keys.NewHolder(set),
				GlobalSecret: []byte("0123456789abcdef0123456789abcdef"), Login: login})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			p.Routes(mux)
			q := url.Values{"client_id": {"app"}, "response_type": {"code"}, "scope": {"openid"}, "redirect_uri": {redirect},
				"state": {"state-123456"}, "nonce": {"nonce-123456"}, "code_challenge_method": {"S256"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/auth?"+q.Encode(), nil))
			loc, _ := url.Parse(rec.Header().Get("Location"))
			switch tc.fail {
			case "down":
				if rec.Code != http.StatusServiceUnavailable || loc.Query().Get("code") != "" {
					t.Fatalf("store down: %d, location %q, body %s", rec.Code, loc, rec.Body)
				}
				return
			case "ended":
				if loc.Query().Get("error") != "login_required" || loc.Query().Get("code") != "" {
					t.Fatalf("session ended: %d, location %q", rec.Code, loc)
				}
				return
			}
			if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound || loc.Query().Get("code") == "" {
				t.Fatalf("authorize: %d, location %q, body %s", rec.Code, loc, rec.Body)
			}
			if !slices.Equal(login.clients, []string{"ls-1 app"}) {
				t.Fatalf("recorded %v, want [ls-1 app]", login.clients)
			}
		})
	}
}
