package exchange

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actas-dev/actas/storage"
)

// failingKV fails reads and writes of keys with a chosen prefix with storage.ErrUnavailable.
type failingKV struct {
	storage.KV
	prefix atomic.Pointer[string]
	// corrupt, when set, is a key prefix whose records read back as bytes that do not decode.
	corrupt atomic.Pointer[string]
}

func (f *failingKV) fail(key string) error {
	if p := f.prefix.Load(); p != nil && strings.HasPrefix(key, *p) {
		return errors.Join(storage.ErrUnavailable, errors.New("test outage"))
	}
	return nil
}

func (f *failingKV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.fail(key); err != nil {
		return nil, err
	}
	if p := f.corrupt.Load(); p != nil && strings.HasPrefix(key, *p) {
		return []byte("{corrupt"), nil
	}
	return f.KV.Get(ctx, key)
}

func (f *failingKV) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := f.fail(key); err != nil {
		return err
	}
	return f.KV.Set(ctx, key, v, ttl)
}

func (f *failingKV) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := f.fail(key); err != nil {
		return err
	}
	return f.KV.Create(ctx, key, v, ttl)
}

// fakeLogin is the smallest oauth.Login: the user named by the X-Test-Login header is logged in
// (with a second factor when the header X-Test-AMR says "otp"), nobody otherwise.
type fakeLogin struct{}

func (fakeLogin) Current(r *http.Request) (*storage.LoginSession, error) {
	u := r.Header.Get("X-Test-Login")
	if u == "" {
		return nil, errors.New("no session")
	}
	amr := []string{"pwd"}
	if r.Header.Get("X-Test-AMR") == "otp" {
		amr = append(amr, "otp")
	}
	now := time.Now()
	return &storage.LoginSession{ID: "login-" + u, Subject: u, AuthTime: now.Add(-time.Minute), AMR: amr,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, nil
}
func (fakeLogin) LoginURL(string, string, string) string { return "/login" }
func (fakeLogin) RecordClient(context.Context, *storage.LoginSession, string) error {
	return nil
}
func (fakeLogin) HasConsent(context.Context, string, string, []string) (bool, error) {
	return true, nil
}
func (fakeLogin) ConsentURL(context.Context, string, string, string, string, []string) (string, error) {
	return "/consent", nil
}
func (fakeLogin) EndLoginSession(context.Context, http.ResponseWriter, *http.Request) error {
	return nil
}

// fakeReps is a Representations that records calls and keeps one active session per actor.
type fakeReps struct {
	mu       sync.Mutex
	n        int
	active   map[string]*fakeRep // by id
	byActor  map[string]string   // actor → id
	starts   []StartRequest
	grants   map[string][]string // rep id → request ids
	aborted  []string
	startErr error
}

type fakeRep struct {
	rep    Representation
	target string
	ended  bool
}

func newFakeReps() *fakeReps {
	return &fakeReps{active: map[string]*fakeRep{}, byActor: map[string]string{}, grants: map[string][]string{}}
}

func (f *fakeReps) Start(_ context.Context, r StartRequest) (Representation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starts = append(f.starts, r)
	if f.startErr != nil {
		return Representation{}, f.startErr
	}
	if id, ok := f.byActor[r.Actor]; ok && !f.active[id].ended {
		cur := f.active[id]
		if cur.target == r.Target {
			rep := cur.rep
			rep.Joined = true
			return rep, nil
		}
		return Representation{}, &ActiveRepresentationError{ID: id, Target: cur.target, Since: cur.rep.StartedAt}
	}
	f.n++
	now := time.Now()
	rep := Representation{ID: "rep-" + string(rune('a'+f.n%26)) + "-" + time.Now().Format("150405.000000000"),
		StartedAt: now, ExpiresAt: now.Add(r.TTL)}
	f.active[rep.ID] = &fakeRep{rep: rep, target: r.Target}
	f.byActor[r.Actor] = rep.ID
	return rep, nil
}

func (f *fakeReps) Active(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.active[id]; ok && !r.ended {
		return nil
	}
	return ErrRepresentationEnded
}

func (f *fakeReps) IsRepresented(_ context.Context, user string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.active {
		if !r.ended && r.target == user {
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeReps) RecordGrant(_ context.Context, rep, req string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.active[rep]; !ok || r.ended {
		return ErrRepresentationEnded
	}
	f.grants[rep] = append(f.grants[rep], req)
	return nil
}

func (f *fakeReps) Abort(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.aborted = append(f.aborted, id)
	if r, ok := f.active[id]; ok {
		r.ended = true
	}
	return nil
}

func (f *fakeReps) end(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active[id].ended = true
}

// recAudit records events; fail makes Record fail for grants.
type recAudit struct {
	mu     sync.Mutex
	events []Event
	fail   atomic.Bool
	// failType, when set, makes events of that type fail as if storage were down.
	failType atomic.Pointer[string]
}

func (a *recAudit) Record(_ context.Context, e Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.failType.Load(); t != nil && *t == e.Type {
		return errors.Join(storage.ErrUnavailable, errors.New("audit sink down"))
	}
	a.events = append(a.events, e)
	if a.fail.Load() && e.Type == EventGranted {
		return errors.New("audit sink down")
	}
	return nil
}

func (a *recAudit) last() Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.events) == 0 {
		return Event{}
	}
	return a.events[len(a.events)-1]
}

// endActor ends the actor's active representation, if any.
func (f *fakeReps) endActor(actor string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.byActor[actor]; ok {
		f.active[id].ended = true
		delete(f.active, id)
		delete(f.byActor, actor)
		delete(f.grants, id)
	}
	f.starts = f.starts[:0]
}
