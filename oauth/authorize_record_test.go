package oauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/oauth/keys"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// recordingLogin is a Login whose browser is always signed in as u-alice and which records the
// grants of the login session (failing when down is set).
type recordingLogin struct {
	noLogin
	down     bool
	mu       sync.Mutex
	grants   []storage.LoginGrant
	sessions []string
}

func (l *recordingLogin) Current(*http.Request) (*storage.LoginSession, error) {
	return &storage.LoginSession{ID: "ls-1", Subject: "u-alice", AuthTime: time.Now(), AMR: []string{"pwd"},
		ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (l *recordingLogin) RecordGrant(_ context.Context, ls *storage.LoginSession, g storage.LoginGrant) error {
	if l.down {
		return fmt.Errorf("connection refused: %w", storage.ErrUnavailable)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.grants = append(l.grants, g)
	l.sessions = append(l.sessions, ls.ID)
	return nil
}

// TestAuthorizeRecordsGrant: an authorization response is issued only once its grant is recorded
// under the login session (for the session's back-channel logout); when that record cannot be
// written, nothing is issued and the answer is 503.
func TestAuthorizeRecordsGrant(t *testing.T) {
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
	for _, tc := range []struct {
		name          string
		scope         string
		down, offline bool
	}{
		{name: "ok/recorded", scope: "openid"},
		{name: "ok/offline", scope: "openid offline_access", offline: true},
		{name: "fail/store-down", scope: "openid", down: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			login := &recordingLogin{down: tc.down}
			p, err := oauth.New(oauth.Options{Issuer: "http://127.0.0.1:8080", Store: store, Keys: keys.NewHolder(set),
				GlobalSecret: []byte("0123456789abcdef0123456789abcdef"), Login: login})
			if err != nil {
				t.Fatal(err)
			}
			mux := http.NewServeMux()
			p.Routes(mux)
			q := url.Values{"client_id": {"app"}, "response_type": {"code"}, "scope": {tc.scope}, "redirect_uri": {redirect},
				"state": {"state-123456"}, "nonce": {"nonce-123456"}, "code_challenge_method": {"S256"},
				"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth2/auth?"+q.Encode(), nil))
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if tc.down {
				if rec.Code != http.StatusServiceUnavailable || loc.Query().Get("code") != "" {
					t.Fatalf("store down: %d, location %q, body %s", rec.Code, loc, rec.Body)
				}
				return
			}
			if rec.Code != http.StatusSeeOther && rec.Code != http.StatusFound || loc.Query().Get("code") == "" {
				t.Fatalf("authorize: %d, location %q, body %s", rec.Code, loc, rec.Body)
			}
			if len(login.grants) != 1 || login.sessions[0] != "ls-1" || login.grants[0].ClientID != "app" ||
				login.grants[0].RequestID == "" || login.grants[0].Offline != tc.offline {
				t.Fatalf("recorded %+v under %v, want one grant of app (offline %v) under ls-1", login.grants, login.sessions, tc.offline)
			}
		})
	}
}
