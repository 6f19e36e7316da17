package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// TestConcurrentWriters: several Trails on one stream — replicas — and several goroutines on each,
// append at once; every event is stored exactly once and the result is one valid chain.
func TestConcurrentWriters(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name             string
		replicas, each   int
		goroutinesPerRep int
	}{
		{"ok/two-replicas", 2, 40, 1},
		{"ok/ten-replicas", 10, 10, 1},
		{"ok/three-replicas-four-goroutines-each", 3, 8, 4},
	}
	for _, b := range backends {
		for _, tc := range cases {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := b.new(t)
				trails := make([]*audit.Trail, tc.replicas)
				for i := range trails {
					trails[i] = quietTrail(t, s, nil)
				}
				var wg sync.WaitGroup
				errs := make(chan error, tc.replicas*tc.goroutinesPerRep*tc.each)
				for r, tr := range trails {
					for g := range tc.goroutinesPerRep {
						wg.Go(func() {
							for i := range tc.each {
								e := grant(i)
								e.RequestID = fmt.Sprintf("r%d-g%d-%d", r, g, i)
								if err := tr.Record(t.Context(), e); err != nil {
									errs <- err
								}
							}
						})
					}
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Fatal(err)
				}
				total := tc.replicas * tc.goroutinesPerRep * tc.each
				wantOK(t, mustVerify(t, trails[0]), int64(total))
				seen := map[string]bool{}
				if err := trails[1].Export(t.Context(), t0.AddDate(-100, 0, 0), t0.AddDate(100, 0, 0), func(e audit.Event) error {
					if seen[e.RequestID] {
						return fmt.Errorf("%s stored twice", e.RequestID)
					}
					seen[e.RequestID] = true
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				if len(seen) != total {
					t.Fatalf("exported %d distinct events, want %d", len(seen), total)
				}
			})
		}
	}
}

// slowStreams delays every append and counts the calls, so that concurrent Records queue up.
type slowStreams struct {
	storage.Streams
	calls, entries atomic.Int64
}

func (s *slowStreams) AppendChainedBatch(ctx context.Context, stream, head string, es []storage.ChainedEntry, maxLen int64) ([]string, error) {
	s.calls.Add(1)
	s.entries.Add(int64(len(es)))
	time.Sleep(2 * time.Millisecond)
	return s.Streams.AppendChainedBatch(ctx, stream, head, es, maxLen)
}

// TestGroupCommit: events recorded at once by many goroutines of one Trail share store calls
// (one compare-and-set for all the events queued meanwhile) and still form one valid chain with
// every event once.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	s := &slowStreams{Streams: memory.New()}
	tr := quietTrail(t, s, nil)
	const goroutines, each = 32, 5
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e := grant(i)
				e.RequestID = fmt.Sprintf("g%d-%d", g, i)
				got, err := tr.Append(t.Context(), e)
				if err != nil {
					errs <- err
					continue
				}
				if got.Hash == "" || got.Hash != audit.HashOf(audit.Canonical(got)) {
					errs <- fmt.Errorf("event %s came back with hash %q", e.RequestID, got.Hash)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	wantOK(t, mustVerify(t, tr), goroutines*each)
	if n := s.entries.Load(); n != goroutines*each {
		t.Fatalf("%d entries written, want %d", n, goroutines*each)
	}
	if c := s.calls.Load(); c >= goroutines*each/2 {
		t.Fatalf("%d store calls for %d concurrent events: no group commit", c, goroutines*each)
	}
}

// TestGroupCommitCanceledWhileQueued: an event whose caller gives up while it waits in the queue
// is never written; it is logged at WARN as abandoned and counted apart from lost events (the
// store did not fail: an alert on lost events must not fire when clients go away).
func TestGroupCommitCanceledWhileQueued(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	s := &gatedStreams{Streams: memory.New(), gate: gate, entered: make(chan struct{}, 1)}
	tr, logs := newTrail(t, s, nil)
	first := make(chan error, 1)
	go func() { first <- tr.Record(t.Context(), grant(1)) }()
	<-s.entered // the first commit is in the store; the next event has to queue
	ctx, cancel := context.WithCancel(t.Context())
	second := make(chan error, 1)
	go func() { second <- tr.Record(ctx, grant(2)) }()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued record with a canceled context: err = %v", err)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"audit event abandoned"`) ||
		strings.Contains(logs.String(), "audit event not stored") {
		t.Fatalf("log:\n%s", logs)
	}
	if a, l := counter(t, tr, "actas_audit_events_abandoned_total", audit.TypeExchangeGranted),
		counter(t, tr, "actas_audit_events_lost_total", audit.TypeExchangeGranted); a != 1 || l != 0 {
		t.Fatalf("abandoned = %v, lost = %v; want 1, 0", a, l)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wantOK(t, mustVerify(t, tr), 1)
}

// gatedStreams holds the first append until gate is closed.
type gatedStreams struct {
	storage.Streams
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (s *gatedStreams) AppendChainedBatch(ctx context.Context, stream, head string, es []storage.ChainedEntry, maxLen int64) ([]string, error) {
	s.once.Do(func() {
		s.entered <- struct{}{}
		<-s.gate
	})
	return s.Streams.AppendChainedBatch(ctx, stream, head, es, maxLen)
}

// TestEnqueueKeepsOrder: an event queued with Enqueue is chained before any event queued after
// it, even when the later one is waited for first (it then commits both), and the earlier one's
// wait still returns it as stored and logs it. An invalid event is refused by its wait.
func TestEnqueueKeepsOrder(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			tr, logs := newTrail(t, b.new(t), nil)
			ctx := t.Context()
			waitFirst := tr.Enqueue(ctx, grant(1))
			second, err := tr.Enqueue(ctx, grant(2))()
			if err != nil {
				t.Fatal(err)
			}
			first, err := waitFirst()
			if err != nil {
				t.Fatal(err)
			}
			if second.PrevHash != first.Hash || first.Hash == "" {
				t.Fatalf("second.PrevHash %q, first.Hash %q: the first queued is not chained first", second.PrevHash, first.Hash)
			}
			if n := strings.Count(logs.String(), `"msg":"audit event"`); n != 2 {
				t.Fatalf("%d audit event lines, want 2:\n%s", n, logs.String())
			}
			bad := grant(3)
			bad.Type = "no such type"
			if _, err := tr.Enqueue(ctx, bad)(); !errors.Is(err, audit.ErrInvalidEvent) {
				t.Fatalf("invalid event: %v", err)
			}
			wantOK(t, mustVerify(t, tr), 2)
		})
	}
}
