package exchange

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actas-dev/actas/storage"
)

// repClock is a settable clock shared by the service and the memory KV.
type repClock struct{ off atomic.Int64 }

func (c *repClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *repClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

// repAudit records events.
type repAudit struct {
	mu     sync.Mutex
	events []Event
	slow   atomic.Pointer[string] // an event type whose recording takes a while
}

func (a *repAudit) Record(_ context.Context, e Event) error {
	if t := a.slow.Load(); t != nil && *t == e.Type {
		time.Sleep(50 * time.Millisecond)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.events = append(a.events, e)
	return nil
}

// repQueueAudit is a repAudit that queues (AuditQueuer): Queue gives the event its place in the
// trail at once; the wait of an event of type held blocks until release is closed.
type repQueueAudit struct {
	*repAudit
	held    string
	release chan struct{}
}

var _ AuditQueuer = (*repQueueAudit)(nil)

func (a *repQueueAudit) Queue(_ context.Context, e Event) func() error {
	a.mu.Lock()
	a.events = append(a.events, e)
	a.mu.Unlock()
	return func() error {
		if e.Type == a.held {
			<-a.release
		}
		return nil
	}
}

func (a *repAudit) ofType(typ string) []Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Event
	for _, e := range a.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// repFaultKV fails the KV operations that fail says so (nil: pass), to simulate an outage or a
// crash between two steps.
type repFaultKV struct {
	storage.KV
	fail atomic.Pointer[func(op, key string) bool]
}

func (f *repFaultKV) setFail(fn func(op, key string) bool) {
	if fn == nil {
		f.fail.Store(nil)
		return
	}
	f.fail.Store(&fn)
}

var errRepFault = errors.Join(storage.ErrUnavailable, errors.New("injected fault"))

func (f *repFaultKV) check(op, key string) error {
	if fn := f.fail.Load(); fn != nil && (*fn)(op, key) {
		return errRepFault
	}
	return nil
}

func (f *repFaultKV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := f.check("get", key); err != nil {
		return nil, err
	}
	return f.KV.Get(ctx, key)
}

func (f *repFaultKV) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := f.check("set", key); err != nil {
		return err
	}
	return f.KV.Set(ctx, key, v, ttl)
}

func (f *repFaultKV) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if err := f.check("create", key); err != nil {
		return err
	}
	return f.KV.Create(ctx, key, v, ttl)
}

func (f *repFaultKV) CreateAll(ctx context.Context, es []storage.Entry) error {
	if err := f.check("create-all", es[0].Key); err != nil {
		return err
	}
	return f.KV.CreateAll(ctx, es)
}

func (f *repFaultKV) CompareAndSwap(ctx context.Context, key string, old, v []byte, ttl time.Duration) error {
	if err := f.check("cas", key); err != nil {
		return err
	}
	return f.KV.CompareAndSwap(ctx, key, old, v, ttl)
}

func (f *repFaultKV) CompareAndDelete(ctx context.Context, key string, old []byte) error {
	if err := f.check("cad", key); err != nil {
		return err
	}
	return f.KV.CompareAndDelete(ctx, key, old)
}

func (f *repFaultKV) Delete(ctx context.Context, keys ...string) error {
	if err := f.check("delete", keys[0]); err != nil {
		return err
	}
	return f.KV.Delete(ctx, keys...)
}

func (f *repFaultKV) SetAdd(ctx context.Context, key string, ttl time.Duration, m ...string) error {
	if err := f.check("set-add", key); err != nil {
		return err
	}
	return f.KV.SetAdd(ctx, key, ttl, m...)
}

func (f *repFaultKV) SetRemove(ctx context.Context, key string, m ...string) error {
	if err := f.check("set-remove", key); err != nil {
		return err
	}
	return f.KV.SetRemove(ctx, key, m...)
}

func (f *repFaultKV) SetMembers(ctx context.Context, key string) ([]string, error) {
	if err := f.check("set-members", key); err != nil {
		return nil, err
	}
	return f.KV.SetMembers(ctx, key)
}

// repLogins records EndAllSessions calls (the login service's part of sign-out-everywhere).
type repLogins struct {
	mu    sync.Mutex
	ended []string
	err   error
}

func (l *repLogins) EndAllSessions(_ context.Context, subject string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ended = append(l.ended, subject)
	return l.err
}

func (l *repLogins) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ended...)
}

// repLoginFake is the smallest oauth.Login: nobody is logged in.
type repLoginFake struct{}

func (repLoginFake) Current(*http.Request) (*storage.LoginSession, error) {
	return nil, errors.New("no session")
}
func (repLoginFake) LoginURL(string, string, string) string { return "/login" }
func (repLoginFake) RecordClient(context.Context, *storage.LoginSession, string) error {
	return nil
}
func (repLoginFake) HasConsent(context.Context, string, string, []string) (bool, error) {
	return true, nil
}
func (repLoginFake) ConsentURL(context.Context, string, string, string, string, []string) (string, error) {
	return "/consent", nil
}
func (repLoginFake) EndLoginSession(context.Context, http.ResponseWriter, *http.Request) error {
	return nil
}

// SetAddGet forwards the backend's AddingReader capability, failing as SetAdd and Get would.
func (f *repFaultKV) SetAddGet(ctx context.Context, setKey string, ttl time.Duration, member, getKey string) ([]byte, error) {
	if err := f.check("set-add", setKey); err != nil {
		return nil, err
	}
	if err := f.check("get", getKey); err != nil {
		return nil, err
	}
	return f.KV.(storage.AddingReader).SetAddGet(ctx, setKey, ttl, member, getKey)
}

// WriteCreateAll fails as the separate steps would (each write as "set" or "set-add", then
// "create-all"), before anything is written, and otherwise hands over to the wrapped store's
// one-step write, so that the fault tests cover the path the service takes with both backends.
func (f *repFaultKV) WriteCreateAll(ctx context.Context, ws []storage.Write, es []storage.Entry) error {
	for _, w := range ws {
		op := "set"
		if w.Add {
			op = "set-add"
		}
		if err := f.check(op, w.Key); err != nil {
			return err
		}
	}
	if err := f.check("create-all", es[0].Key); err != nil {
		return err
	}
	return f.KV.(storage.WritingCreator).WriteCreateAll(ctx, ws, es)
}
