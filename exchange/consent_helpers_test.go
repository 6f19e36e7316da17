package exchange

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"testing"

	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/redistest"
)

// consentBackends are the storage backends every consent test runs on.
var consentBackends = []struct {
	name string
	kv   func(testing.TB) storage.KV
}{
	{"memory", func(testing.TB) storage.KV { return memory.New() }},
	{"redis", func(t testing.TB) storage.KV { return redistest.New(t) }},
}

// fakeConsentReps is a ConsentRepresentations over a set of active representations; with
// backing set it reads and ends the exchange env's fakeReps instead.
type fakeConsentReps struct {
	mu      sync.Mutex
	active  map[string]RepresentationSummary
	stopped []string // "<id> <by> <reason>"
	stopErr error
	backing *fakeReps
}

func newFakeConsentReps() *fakeConsentReps {
	return &fakeConsentReps{active: map[string]RepresentationSummary{}}
}

func (f *fakeConsentReps) add(r RepresentationSummary) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active[r.ID] = r
}

func (f *fakeConsentReps) Active(ctx context.Context, id string) error {
	if f.backing != nil {
		return f.backing.Active(ctx, id)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.active[id]; ok {
		return nil
	}
	return ErrRepresentationEnded
}

func (f *fakeConsentReps) Stop(_ context.Context, id, by, reason string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopErr != nil {
		return f.stopErr
	}
	f.stopped = append(f.stopped, id+" "+by+" "+reason)
	delete(f.active, id)
	if f.backing != nil {
		f.backing.mu.Lock()
		if r, ok := f.backing.active[id]; ok {
			r.ended = true
		}
		f.backing.mu.Unlock()
	}
	return nil
}

func (f *fakeConsentReps) ActiveForTarget(_ context.Context, target string) ([]RepresentationSummary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []RepresentationSummary
	if b := f.backing; b != nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		for actor, id := range b.byActor {
			if r := b.active[id]; r != nil && !r.ended && r.target == target {
				out = append(out, RepresentationSummary{ID: id, Actor: actor, Target: target,
					StartedAt: r.rep.StartedAt, ExpiresAt: r.rep.ExpiresAt})
			}
		}
		return out, nil
	}
	for _, r := range f.active {
		if r.Target == target {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b RepresentationSummary) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

func (f *fakeConsentReps) stops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.stopped)
}

// consentFixture is a ConsentService over a real store with the exchange tests' users.
type consentFixture struct {
	t     testing.TB
	store *storage.Store
	svc   *ConsentService
	audit *recAudit
	reps  *fakeConsentReps
	clock *testClock
}

func newConsentFixture(t testing.TB, kv storage.KV, mut ...func(*ConsentOptions)) *consentFixture {
	t.Helper()
	f := &consentFixture{t: t, store: storage.NewStore(kv, storage.StoreOptions{}), audit: &recAudit{},
		reps: newFakeConsentReps(), clock: &testClock{}}
	ctx := context.Background()
	for _, u := range []*storage.User{
		{ID: "u-alice", Username: "alice", Name: "Alice Example", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-bob", Username: "bob", Name: "Bob Example", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-dave", Username: "dave", Roles: []string{"customer"}, Tenant: "acme", ImpersonationAllowed: false},
		{ID: "u-sam", Username: "sam", Name: "Sam Support", Roles: []string{"support"}, Tenant: "acme", ImpersonationAllowed: true},
		{ID: "u-ada", Username: "ada", Roles: []string{"admin"}, Tenant: "acme", ImpersonationAllowed: true},
	} {
		if err := f.store.UpsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	o := ConsentOptions{Store: f.store, Issuer: testIssuer, Representations: f.reps, Audit: f.audit,
		Now: f.clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Login: newPageLogin()}
	for _, m := range mut {
		m(&o)
	}
	svc, err := NewConsentService(o)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// request makes a pending request of agent for target with the default purpose.
func (f *consentFixture) request(agent, target string) *AccessRequest {
	f.t.Helper()
	r, err := f.svc.Request(context.Background(), NewAccessRequest{Agent: subjectFor(agent), AgentName: agent,
		ClientID: "console", Target: target, Reason: "customer called about order 42", Ticket: "SUP-42"})
	if err != nil {
		f.t.Fatalf("request: %v", err)
	}
	return r
}

func subjectFor(id string) policy.Subject { return policy.Subject{ID: id} }

// events returns the types of the recorded audit events.
func (f *consentFixture) events() []string {
	f.audit.mu.Lock()
	defer f.audit.mu.Unlock()
	var out []string
	for _, e := range f.audit.events {
		out = append(out, e.Type)
	}
	return out
}

// pageLogin is an AccountLogin whose sessions are named by the cookie "test_session".
type pageLogin struct {
	mu       sync.Mutex
	sessions map[string]*storage.LoginSession
	fail     error
}

func newPageLogin() *pageLogin { return &pageLogin{sessions: map[string]*storage.LoginSession{}} }

// login starts a session for subject and returns its cookie value.
func (l *pageLogin) login(subject string) (cookie, csrf string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cookie, csrf = consentNewID(), consentNewID()
	l.sessions[cookie] = &storage.LoginSession{ID: cookie, Subject: subject, CSRFToken: csrf}
	return cookie, csrf
}

func (l *pageLogin) Current(r *http.Request) (*storage.LoginSession, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fail != nil {
		return nil, l.fail
	}
	c, err := r.Cookie("test_session")
	if err != nil {
		return nil, login.ErrNoSession
	}
	ls, ok := l.sessions[c.Value]
	if !ok {
		return nil, login.ErrNoSession
	}
	return ls, nil
}

func (l *pageLogin) RecordClient(context.Context, *storage.LoginSession, string) error {
	return nil
}

func (l *pageLogin) LoginURL(returnTo, _, _ string) string {
	return "/login?" + url.Values{"return_to": {returnTo}}.Encode()
}
