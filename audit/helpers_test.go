package audit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// backend is a store factory every chain test runs on.
type backend struct {
	name string
	new  func(t testing.TB) storage.Streams
}

var backends = []backend{
	{"memory", func(testing.TB) storage.Streams { return memory.New() }},
	{"redis", func(t testing.TB) storage.Streams { return redistest.New(t) }},
}

// logBuf is a concurrency-safe log sink.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// newTrail returns a trail on s with a JSON logger into the returned buffer.
func newTrail(t testing.TB, s storage.Streams, mutate func(*audit.Options)) (*audit.Trail, *logBuf) {
	t.Helper()
	logs := &logBuf{}
	o := audit.Options{Store: s, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if mutate != nil {
		mutate(&o)
	}
	tr, err := audit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tr, logs
}

func quietTrail(t testing.TB, s storage.Streams, mutate func(*audit.Options)) *audit.Trail {
	t.Helper()
	o := audit.Options{Store: s, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mutate != nil {
		mutate(&o)
	}
	tr, err := audit.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// grant is a typical granted impersonation.
func grant(i int) audit.Event {
	return audit.Event{
		Type: audit.TypeExchangeGranted, Actor: "u-sam", Target: "u-carla", Client: "support-console",
		RepresentationID: "rep-" + strconv.Itoa(i), Decision: audit.DecisionAllow, Rule: "support-acts-as-customer",
		ReasonText: "customer asked for help with invoice " + strconv.Itoa(i), Ticket: "SUP-" + strconv.Itoa(1000+i),
		SourceAddress: "192.0.2.10", UserAgent: "console/1.0", RequestID: "req-" + strconv.Itoa(i),
		Detail: map[string]string{"form": "impersonation", "scope": "openid impersonation"},
	}
}

func mustRecord(t testing.TB, tr *audit.Trail, e audit.Event) audit.Event {
	t.Helper()
	got, err := tr.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("record %s: %v", e.Type, err)
	}
	return got
}

func mustVerify(t testing.TB, tr *audit.Trail) audit.Report {
	t.Helper()
	rep, err := tr.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func wantOK(t testing.TB, rep audit.Report, events int64) {
	t.Helper()
	if !rep.OK || rep.Break != nil || rep.Events != events {
		t.Fatalf("report = %+v (break %+v); want OK with %d events", rep, rep.Break, events)
	}
}

// counter reads one series of a trail's collectors by metric name and label value.
func counter(t testing.TB, tr *audit.Trail, name, typ string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range tr.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if typ == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == typ) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// failingStore is a storage.Streams whose every call fails with err (an audit store that is down).
type failingStore struct {
	err error
}

func (f failingStore) AppendChained(context.Context, string, string, string, []byte, int64) (string, error) {
	return "", f.err
}
func (f failingStore) AppendChainedBatch(context.Context, string, string, []storage.ChainedEntry, int64) ([]string, error) {
	return nil, f.err
}
func (f failingStore) ReadRange(context.Context, string, string, int, bool) ([]storage.StreamEntry, error) {
	return nil, f.err
}
func (f failingStore) Head(context.Context, string) (string, error) { return "", f.err }
func (f failingStore) Checkpoint(context.Context, string) (storage.StreamCheckpoint, error) {
	return storage.StreamCheckpoint{}, f.err
}
func (f failingStore) TrimBefore(context.Context, string, time.Time) (int64, error) { return 0, f.err }

var errDown = errors.Join(storage.ErrUnavailable, errors.New("test: audit store down"))

// fixedClock returns a clock that starts at t0 and advances by step on every call.
func fixedClock(t0 time.Time, step time.Duration) func() time.Time {
	var mu sync.Mutex
	now := t0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n := now
		now = now.Add(step)
		return n
	}
}

// hangingStore is failingStore whose appends hang until their context ends (a stalled Redis).
type hangingStore struct{ failingStore }

func (h hangingStore) AppendChainedBatch(ctx context.Context, _, _ string, _ []storage.ChainedEntry, _ int64) ([]string, error) {
	<-ctx.Done()
	return nil, errors.Join(storage.ErrUnavailable, ctx.Err())
}

func (h hangingStore) Head(context.Context, string) (string, error) { return "", nil }
