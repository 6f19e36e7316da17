package login

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actas-dev/actas/storage"
)

// fakeClock is a settable clock shared by the service and the fake store.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeStore is a hand-written, map-backed Store with TTLs on the fake clock. Setting unavailable
// makes every method fail with an error wrapping storage.ErrUnavailable.
type fakeStore struct {
	clock       *fakeClock
	unavailable atomic.Bool
	failOnly    sync.Map // method name → true: only these methods fail with ErrUnavailable
	// lookupDelay, when set, makes GetUserByUsername take that long (a slow store or hash), which
	// widens the gap between a rate-limit check and the verdict.
	lookupDelay atomic.Int64

	mu       sync.Mutex
	users    map[string]*storage.User         // by id
	sessions map[string]fakeEntry             // by id; JSON of storage.LoginSession
	records  map[string]fakeEntry             // by kind + "/" + id
	clients  map[string][]storage.LoginClient // login session id → clients
	indexes  map[string][]string              // kind + "/" + id → members
}

type fakeEntry struct {
	val []byte
	exp time.Time // zero: none
}

var _ Store = (*fakeStore)(nil)

func newFakeStore(clock *fakeClock) *fakeStore {
	return &fakeStore{
		clock: clock, users: map[string]*storage.User{},
		sessions: map[string]fakeEntry{}, records: map[string]fakeEntry{},
	}
}

func (f *fakeStore) addUser(u *storage.User) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.users[u.ID] = u
}

func (f *fakeStore) down(method string) error {
	_, only := f.failOnly.Load(method)
	if f.unavailable.Load() || only {
		return fmt.Errorf("fake: connection refused: %w", storage.ErrUnavailable)
	}
	return nil
}

// live returns the entry if present and not expired (deleting an expired one).
func (f *fakeStore) live(m map[string]fakeEntry, key string) (fakeEntry, bool) {
	e, ok := m[key]
	if ok && !e.exp.IsZero() && !f.clock.Now().Before(e.exp) {
		delete(m, key)
		return fakeEntry{}, false
	}
	return e, ok
}

func (f *fakeStore) expiry(ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return f.clock.Now().Add(ttl)
}

func (f *fakeStore) GetUserByUsername(_ context.Context, username string) (*storage.User, error) {
	if err := f.down("GetUserByUsername"); err != nil {
		return nil, err
	}
	time.Sleep(time.Duration(f.lookupDelay.Load()))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.Username == username {
			c := *u
			return &c, nil
		}
	}
	return nil, fmt.Errorf("fake: user %q: %w", username, storage.ErrNotFound)
}

func (f *fakeStore) GetUser(_ context.Context, id string) (*storage.User, error) {
	if err := f.down("GetUser"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[id]
	if !ok {
		return nil, fmt.Errorf("fake: user %q: %w", id, storage.ErrNotFound)
	}
	c := *u
	return &c, nil
}

func (f *fakeStore) CreateLoginSession(_ context.Context, s *storage.LoginSession, idleTTL time.Duration) error {
	if err := f.down("CreateLoginSession"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live(f.sessions, s.ID); ok {
		return storage.ErrConflict
	}
	b, _ := json.Marshal(s)
	f.sessions[s.ID] = fakeEntry{val: b, exp: f.expiry(idleTTL)}
	return nil
}

func (f *fakeStore) GetLoginSession(_ context.Context, id string) (*storage.LoginSession, error) {
	if err := f.down("GetLoginSession"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.live(f.sessions, id)
	if !ok {
		return nil, fmt.Errorf("fake: session: %w", storage.ErrNotFound)
	}
	var s storage.LoginSession
	if err := json.Unmarshal(e.val, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (f *fakeStore) TouchLoginSession(_ context.Context, s *storage.LoginSession, idleTTL time.Duration) error {
	if err := f.down("TouchLoginSession"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live(f.sessions, s.ID); !ok {
		return fmt.Errorf("fake: touch session: %w", storage.ErrNotFound)
	}
	b, _ := json.Marshal(s)
	f.sessions[s.ID] = fakeEntry{val: b, exp: f.expiry(idleTTL)}
	return nil
}

func (f *fakeStore) DeleteLoginSession(_ context.Context, id string) error {
	if err := f.down("DeleteLoginSession"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, id)
	return nil
}

func (f *fakeStore) ListLoginSessions(_ context.Context, subject string) ([]*storage.LoginSession, error) {
	if err := f.down("ListLoginSessions"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*storage.LoginSession
	for id := range f.sessions {
		e, ok := f.live(f.sessions, id)
		if !ok {
			continue
		}
		var s storage.LoginSession
		if err := json.Unmarshal(e.val, &s); err != nil {
			return nil, err
		}
		if s.Subject == subject {
			out = append(out, &s)
		}
	}
	return out, nil
}

func (f *fakeStore) GetRecord(_ context.Context, kind, id string, out any) error {
	if err := f.down("GetRecord"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.live(f.records, kind+"/"+id)
	if !ok {
		return fmt.Errorf("fake: record %s: %w", kind, storage.ErrNotFound)
	}
	return json.Unmarshal(e.val, out)
}

func (f *fakeStore) CreateRecord(_ context.Context, kind, id string, v any, ttl time.Duration) error {
	if err := f.down("CreateRecord"); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live(f.records, kind+"/"+id); ok {
		return fmt.Errorf("fake: record %s: %w", kind, storage.ErrConflict)
	}
	f.records[kind+"/"+id] = fakeEntry{val: b, exp: f.expiry(ttl)}
	return nil
}

func (f *fakeStore) UpdateRecord(_ context.Context, kind, id string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error {
	if err := f.down("UpdateRecord"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var cur []byte
	if e, ok := f.live(f.records, kind+"/"+id); ok {
		cur = e.val
	}
	next, err := fn(cur)
	if err != nil {
		return fmt.Errorf("fake: update %s: %w", kind, err)
	}
	f.records[kind+"/"+id] = fakeEntry{val: next, exp: f.expiry(ttl)}
	return nil
}

func (f *fakeStore) DeleteRecord(_ context.Context, kind, id string) error {
	if err := f.down("DeleteRecord"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.records, kind+"/"+id)
	return nil
}

// countRecords returns how many live records of kind exist.
func (f *fakeStore) countRecords(kind string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for k := range f.records {
		if len(k) > len(kind) && k[:len(kind)+1] == kind+"/" {
			if _, ok := f.live(f.records, k); ok {
				n++
			}
		}
	}
	return n
}

func (f *fakeStore) AddLoginClient(_ context.Context, id string, c storage.LoginClient, _ time.Time) error {
	if err := f.down("AddLoginClient"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.clients == nil {
		f.clients = map[string][]storage.LoginClient{}
	}
	if !slices.Contains(f.clients[id], c) {
		f.clients[id] = append(f.clients[id], c)
	}
	if _, ok := f.live(f.sessions, id); !ok {
		return fmt.Errorf("fake: add login client: %w", storage.ErrNotFound)
	}
	return nil
}

func (f *fakeStore) LoginClients(_ context.Context, id string) ([]storage.LoginClient, error) {
	if err := f.down("LoginClients"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.clients[id]), nil
}

func (f *fakeStore) DropLoginClients(_ context.Context, id string) error {
	if err := f.down("DropLoginClients"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.clients, id)
	return nil
}

func (f *fakeStore) AddToIndex(_ context.Context, kind, id string, _ time.Duration, members ...string) error {
	if err := f.down("AddToIndex"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.indexes == nil {
		f.indexes = map[string][]string{}
	}
	for _, m := range members {
		if !slices.Contains(f.indexes[kind+"/"+id], m) {
			f.indexes[kind+"/"+id] = append(f.indexes[kind+"/"+id], m)
		}
	}
	return nil
}

func (f *fakeStore) IndexMembers(_ context.Context, kind, id string) ([]string, error) {
	if err := f.down("IndexMembers"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.indexes[kind+"/"+id]), nil
}

func (f *fakeStore) RemoveFromIndex(_ context.Context, kind, id string, members ...string) error {
	if err := f.down("RemoveFromIndex"); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.indexes[kind+"/"+id] = slices.DeleteFunc(f.indexes[kind+"/"+id], func(m string) bool { return slices.Contains(members, m) })
	return nil
}
