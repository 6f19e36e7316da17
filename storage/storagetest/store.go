package storagetest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
	"golang.org/x/text/language"

	"github.com/actas-dev/actas/storage"
)

// RunTests runs the conformance suite of [storage.Store] over the KV that newKV returns. newKV is
// called once per subtest and must return an empty KV (or one with a key prefix of its own) that
// stays usable until the subtest ends; it owns the KV's cleanup.
//
// Every backend runs every part; nothing here may be skipped per backend. The parts: clients and
// users round trips and not-found sentinels; authorization codes (with concurrent invalidation),
// access and refresh tokens, PKCE and OIDC requests; sessions decoded into fosite's prototype;
// whole-grant revocation; refresh rotation with reuse detection and parallel rotations; fosite's
// own code and refresh handlers driven over the Store; expiry; login sessions; records with
// compare-and-swap under contention; an unavailable backend surfacing as storage.ErrUnavailable;
// and no credential (token signature, code, login session id) in any key name.
func RunTests(t *testing.T, newKV func(t *testing.T) storage.KV) {
	groups := []struct {
		name string
		run  func(t *testing.T, newKV func(t *testing.T) storage.KV)
	}{
		{"clients", testStoreClients},
		{"users", testStoreUsers},
		{"tokens", testStoreTokens},
		{"sessions", testStoreSessionDecoding},
		{"grants", testStoreGrants},
		{"concurrency", testStoreConcurrency},
		{"fosite", testStoreFosite},
		{"expiry", testStoreExpiry},
		{"login-sessions", testStoreLoginSessions},
		{"records", testStoreRecords},
		{"unavailable", testStoreUnavailable},
		{"keys", testStoreKeys},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) { g.run(t, newKV) })
	}
}

// storeHarness is one Store on a fresh KV, with the fixtures most subtests need.
type storeHarness struct {
	t      *testing.T
	ctx    context.Context
	kv     storage.KV
	store  *storage.Store
	client *storage.Client
}

// newStoreHarness builds a Store on newKV(t) with a short TTL margin, and seeds storeClient().
func newStoreHarness(t *testing.T, newKV func(t *testing.T) storage.KV) *storeHarness {
	t.Helper()
	kv := newKV(t)
	return newStoreHarnessOn(t, kv, storage.StoreOptions{TTLMargin: 50 * time.Millisecond})
}

func newStoreHarnessOn(t *testing.T, kv storage.KV, opts storage.StoreOptions) *storeHarness {
	t.Helper()
	h := &storeHarness{t: t, ctx: t.Context(), kv: kv, store: storage.NewStore(kv, opts), client: storeClient()}
	if err := h.store.UpsertClient(h.ctx, h.client); err != nil {
		t.Fatalf("seed client: %v", err)
	}
	return h
}

const (
	storeAudience = "https://api.example.com"
	storeRedirect = "https://app.example.com/callback"
)

// storeClient is a confidential client allowed everything the fosite handlers check.
func storeClient() *storage.Client {
	return &storage.Client{
		ID:            "app",
		Name:          "App",
		SecretHash:    []byte("not-a-real-hash"),
		RedirectURIs:  []string{storeRedirect},
		GrantTypes:    []string{"authorization_code", "refresh_token", "client_credentials"},
		ResponseTypes: []string{"code"},
		Scopes:        []string{"openid", "offline", "profile"},
		Audience:      []string{storeAudience},
		Lifespans:     map[string]time.Duration{"access_token": 5 * time.Minute},
	}
}

// storeSession returns an OIDC session for subject whose tokens expire after ttl.
func storeSession(subject string, ttl time.Duration) *openid.DefaultSession {
	exp := time.Now().UTC().Add(ttl).Round(time.Millisecond)
	return &openid.DefaultSession{
		Subject:  subject,
		Username: subject + "-name",
		Claims: &jwt.IDTokenClaims{
			Subject:                         subject,
			Nonce:                           "nonce-" + subject,
			AuthTime:                        time.Now().UTC().Truncate(time.Second),
			AuthenticationMethodsReferences: []string{"pwd", "otp"},
			RequestedAt:                     time.Now().UTC().Truncate(time.Second),
			Extra:                           map[string]any{"tenant": "t1"},
		},
		Headers: &jwt.Headers{Extra: map[string]any{"kid": "k1"}},
		ExpiresAt: map[fosite.TokenType]time.Time{
			fosite.AuthorizeCode: exp,
			fosite.AccessToken:   exp,
			fosite.RefreshToken:  exp,
		},
	}
}

// request returns a request of the harness client under request id, carrying session.
func (h *storeHarness) request(id string, session fosite.Session) *fosite.Request {
	r := fosite.NewRequest()
	r.ID = id
	r.Client = h.client
	r.RequestedAt = time.Now().UTC().Truncate(time.Second)
	r.RequestedScope = fosite.Arguments{"openid", "offline", "profile"}
	r.GrantedScope = fosite.Arguments{"openid", "offline"}
	r.RequestedAudience = fosite.Arguments{storeAudience}
	r.GrantedAudience = fosite.Arguments{storeAudience}
	r.Form = url.Values{
		"redirect_uri":          {storeRedirect},
		"code_challenge":        {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
		"code_challenge_method": {"S256"},
	}
	r.Session = session
	r.Lang = language.German
	return r
}

// storeSameRequest fails the test unless got carries what want carried (client reloaded by id).
func storeSameRequest(t *testing.T, got fosite.Requester, want *fosite.Request) {
	t.Helper()
	if got == nil {
		t.Fatal("request is nil")
	}
	if got.GetID() != want.ID {
		t.Errorf("id = %q, want %q", got.GetID(), want.ID)
	}
	if !got.GetRequestedAt().Equal(want.RequestedAt) {
		t.Errorf("requested_at = %v, want %v", got.GetRequestedAt(), want.RequestedAt)
	}
	if got.GetClient() == nil || got.GetClient().GetID() != want.Client.GetID() {
		t.Errorf("client = %v, want id %q", got.GetClient(), want.Client.GetID())
	}
	if _, ok := got.GetClient().(*storage.Client); !ok {
		t.Errorf("client type = %T, want *storage.Client", got.GetClient())
	}
	storeEqArgs(t, "requested scopes", got.GetRequestedScopes(), want.RequestedScope)
	storeEqArgs(t, "granted scopes", got.GetGrantedScopes(), want.GrantedScope)
	storeEqArgs(t, "requested audience", got.GetRequestedAudience(), want.RequestedAudience)
	storeEqArgs(t, "granted audience", got.GetGrantedAudience(), want.GrantedAudience)
	for k, v := range want.Form {
		if g := got.GetRequestForm()[k]; fmt.Sprint(g) != fmt.Sprint(v) {
			t.Errorf("form[%s] = %v, want %v", k, g, v)
		}
	}
	if g, ok := got.(fosite.G11NContext); !ok || g.GetLang() != want.Lang {
		t.Errorf("lang not kept (want %v)", want.Lang)
	}
}

// storeEqArgs compares argument lists in order.
func storeEqArgs(t *testing.T, what string, got, want fosite.Arguments) {
	t.Helper()
	if fmt.Sprint([]string(got)) != fmt.Sprint([]string(want)) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// storeWantErr fails unless errors.Is(err, target).
func storeWantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want %v", what, err, target)
	}
}

// storeNoErr fails on any error.
func storeNoErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// storeRace runs fn n times concurrently, all released at once, and returns the errors by call index.
func storeRace(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = fn(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

// storeOneWins fails unless exactly one error is nil and every other one matches loser.
func storeOneWins(t *testing.T, what string, errs []error, loser error) {
	t.Helper()
	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, loser):
			t.Errorf("%s: call %d: err = %v, want %v", what, i, err, loser)
		}
	}
	if wins != 1 {
		t.Fatalf("%s: %d of %d calls won, want exactly 1", what, wins, len(errs))
	}
}

// storeEventually polls cond every 20ms until it holds or 5s pass.
func storeEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after 5s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
