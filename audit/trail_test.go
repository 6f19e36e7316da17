package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

func TestNewOptions(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		o    audit.Options
		ok   bool
	}{
		{"ok/defaults", audit.Options{Store: memory.New()}, true},
		{"fail/no-store", audit.Options{}, false},
		{"fail/bad-stream", audit.Options{Store: memory.New(), Stream: "a{b}"}, false},
		{"fail/negative-max-len", audit.Options{Store: memory.New(), MaxLen: -1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tr, err := audit.New(tc.o)
			if (err == nil) != tc.ok {
				t.Fatalf("New = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && tr.Stream() != audit.DefaultStream {
				t.Fatalf("stream = %q", tr.Stream())
			}
		})
	}
}

// TestRecordStoresAndLogs: a recorded event is in the store, chained, with its fields, and has one
// INFO log line with the same fields.
func TestRecordStoresAndLogs(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.new(t)
			tr, logs := newTrail(t, s, func(o *audit.Options) {
				o.Now = fixedClock(t0, time.Second)
				o.RequestID = func(context.Context) string { return "req-from-ctx" }
			})
			first := mustRecord(t, tr, audit.Event{Type: audit.TypeLoginSucceeded, Actor: "u-sam"})
			second := mustRecord(t, tr, grant(1))
			if first.ID == "" || len(first.ID) != 32 || first.ID == second.ID {
				t.Fatalf("ids %q %q", first.ID, second.ID)
			}
			if !first.Time.Equal(t0) || first.RequestID != "req-from-ctx" || second.RequestID != "req-1" {
				t.Fatalf("first = %+v", first)
			}
			if first.PrevHash != "" || second.PrevHash != first.Hash || second.Hash != audit.HashOf(audit.Canonical(second)) {
				t.Fatalf("chain: first %s/%s second %s/%s", first.PrevHash, first.Hash, second.PrevHash, second.Hash)
			}
			es, err := s.ReadRange(t.Context(), audit.DefaultStream, "", 10, false)
			if err != nil || len(es) != 2 {
				t.Fatalf("stored %d entries, %v", len(es), err)
			}
			if string(es[1].Value) != string(audit.Canonical(second)) || es[1].Head != second.Hash {
				t.Fatalf("stored %s / %s", es[1].Value, es[1].Head)
			}
			if h, _ := s.Head(t.Context(), audit.DefaultStream); h != second.Hash {
				t.Fatalf("head %s, want %s", h, second.Hash)
			}
			lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d log lines:\n%s", len(lines), logs)
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil {
				t.Fatal(err)
			}
			for k, want := range map[string]any{"level": "INFO", "msg": "audit event", "event_type": audit.TypeExchangeGranted,
				"event_id": second.ID, "actor": "u-sam", "target": "u-carla", "representation_id": "rep-1", "rule": "support-acts-as-customer",
				"hash": second.Hash, "prev_hash": first.Hash, "event_request_id": "req-1"} {
				if rec[k] != want {
					t.Errorf("log %s = %v, want %v", k, rec[k], want)
				}
			}
			if d, _ := rec["detail"].(map[string]any); d["form"] != "impersonation" {
				t.Errorf("log detail = %v", rec["detail"])
			}
			if got := counter(t, tr, "actas_audit_events_recorded_total", audit.TypeExchangeGranted); got != 1 {
				t.Errorf("recorded counter = %v", got)
			}
			wantOK(t, mustVerify(t, tr), 2)
		})
	}
}

// TestRecordFailsClosed: when the store is down, Record returns an error wrapping
// storage.ErrUnavailable (the caller issues nothing), the event is logged at ERROR and counted as
// lost.
func TestRecordFailsClosed(t *testing.T) {
	t.Parallel()
	tr, logs := newTrail(t, failingStore{errDown}, nil)
	err := tr.Record(t.Context(), grant(1))
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Record = %v, want ErrUnavailable", err)
	}
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"audit event not stored"`) ||
		!strings.Contains(logs.String(), `"representation_id":"rep-1"`) {
		t.Fatalf("log:\n%s", logs)
	}
	if got := counter(t, tr, "actas_audit_events_lost_total", audit.TypeExchangeGranted); got != 1 {
		t.Fatalf("lost counter = %v", got)
	}
}

// TestRecordRefusesInvalid: an invalid event is refused before anything is written, and the log
// line does not repeat the refused values.
func TestRecordRefusesInvalid(t *testing.T) {
	t.Parallel()
	s := memory.New()
	tr, logs := newTrail(t, s, nil)
	e := grant(1)
	e.ReasonText = "here is my token " + testJWT
	if err := tr.Record(t.Context(), e); !errors.Is(err, audit.ErrSecret) {
		t.Fatalf("Record = %v, want ErrSecret", err)
	}
	if es, _ := s.ReadRange(t.Context(), audit.DefaultStream, "", 10, false); len(es) != 0 {
		t.Fatalf("stored %d entries", len(es))
	}
	if strings.Contains(logs.String(), testJWT) || strings.Contains(logs.String(), "eyJ") {
		t.Fatalf("the token reached the log:\n%s", logs)
	}
	if !strings.Contains(logs.String(), "audit event not stored") {
		t.Fatalf("no error line:\n%s", logs)
	}
}

// TestRecordBestEffort: a denial is recorded even when the caller's context has ended, sanitized
// when malformed; when the store is down nothing is returned, the lost counter moves and an error
// is logged.
func TestRecordBestEffort(t *testing.T) {
	t.Parallel()
	t.Run("ok/canceled-context-still-recorded-and-sanitized", func(t *testing.T) {
		t.Parallel()
		s := memory.New()
		tr, logs := newTrail(t, s, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		e := audit.Event{Type: audit.TypeExchangeDenied, Actor: "u-sam", Decision: audit.DecisionDeny,
			ReasonCode: "no_ticket", ReasonText: "agent pasted " + testJWT}
		tr.RecordBestEffort(ctx, e)
		got, _, err := tr.Query(t.Context(), audit.Filter{})
		if err != nil || len(got) != 1 {
			t.Fatalf("query = %d events, %v", len(got), err)
		}
		if got[0].ReasonText != "agent pasted [redacted]" || got[0].Detail["sanitized"] != "true" {
			t.Fatalf("stored %+v", got[0])
		}
		if strings.Contains(logs.String(), testJWT) {
			t.Fatal("the token reached the log")
		}
	})
	t.Run("ok/stalled-store-counts-lost", func(t *testing.T) {
		// Events that time out queued behind a stalled store are lost, not abandoned: nobody gave
		// up on them but the store (a password spray during a Redis stall must page).
		t.Parallel()
		tr, _ := newTrail(t, hangingStore{failingStore{errDown}}, nil)
		var wg sync.WaitGroup
		for _, who := range []string{"u-sam", "u-ann", "u-bob"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr.RecordBestEffort(t.Context(), audit.Event{Type: audit.TypeLoginFailed, Actor: who})
			}()
		}
		wg.Wait()
		lost := counter(t, tr, "actas_audit_events_lost_total", audit.TypeLoginFailed)
		abandoned := counter(t, tr, "actas_audit_events_abandoned_total", audit.TypeLoginFailed)
		if lost != 3 || abandoned != 0 {
			t.Fatalf("lost %v, abandoned %v; want 3 and 0", lost, abandoned)
		}
	})
	t.Run("ok/store-down-counts-lost", func(t *testing.T) {
		t.Parallel()
		tr, logs := newTrail(t, failingStore{errDown}, nil)
		tr.RecordBestEffort(t.Context(), audit.Event{Type: audit.TypeLoginFailed, Actor: "u-sam", SourceAddress: "192.0.2.1"})
		tr.RecordBestEffort(t.Context(), audit.Event{Type: audit.TypeLoginFailed, Actor: "u-ann"})
		if got := counter(t, tr, "actas_audit_events_lost_total", audit.TypeLoginFailed); got != 2 {
			t.Fatalf("lost counter = %v", got)
		}
		if n := strings.Count(logs.String(), `"level":"ERROR","msg":"audit event not stored"`); n != 2 {
			t.Fatalf("%d error lines:\n%s", n, logs)
		}
	})
	t.Run("ok/nil-trail", func(t *testing.T) {
		t.Parallel()
		var tr *audit.Trail
		tr.RecordBestEffort(t.Context(), audit.Event{Type: audit.TypeLoginFailed})
	})
}

// TestRetentionByLength: with MaxLen, the oldest events go, the checkpoint records them, and
// verify calls the chain intact.
func TestRetentionByLength(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.new(t)
			tr := quietTrail(t, s, func(o *audit.Options) { o.MaxLen = 5 })
			var recs []audit.Event
			for i := range 12 {
				recs = append(recs, mustRecord(t, tr, grant(i)))
			}
			rep := mustVerify(t, tr)
			wantOK(t, rep, 5)
			if rep.Trimmed != 7 || rep.Head != recs[11].Hash {
				t.Fatalf("report = %+v", rep)
			}
			cp, _ := s.Checkpoint(t.Context(), audit.DefaultStream)
			if cp.Head != recs[6].Hash {
				t.Fatalf("checkpoint head = %s, want the hash of the 7th event", cp.Head)
			}
		})
	}
}

// TestRetentionByAge: Trim removes events older than MaxAge by their position's time; Record
// applies it at most once a minute.
func TestRetentionByAge(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			s := b.new(t)
			now := time.Now()
			clock := func() time.Time { return now }
			tr := quietTrail(t, s, func(o *audit.Options) { o.MaxAge = time.Hour; o.Now = clock })
			for i := range 3 {
				mustRecord(t, tr, grant(i))
			}
			if n, err := tr.Trim(t.Context()); err != nil || n != 0 {
				t.Fatalf("Trim now = %d, %v", n, err)
			}
			// Positions follow the store's clock: put the cutoff between the third and fourth.
			time.Sleep(5 * time.Millisecond)
			mid := time.Now()
			time.Sleep(5 * time.Millisecond)
			now = mid.Add(time.Hour)
			mustRecord(t, tr, grant(3)) // applies retention: more than a minute since the last pass
			rep := mustVerify(t, tr)
			wantOK(t, rep, 1)
			if rep.Trimmed != 3 {
				t.Fatalf("trimmed %d, want 3", rep.Trimmed)
			}
		})
	}
}

// TestEventTimeSkew: a caller's time far from the trail's clock is refused by Record, and reset to
// the recording time by RecordBestEffort.
func TestEventTimeSkew(t *testing.T) {
	t.Parallel()
	s := memory.New()
	tr := quietTrail(t, s, nil)
	e := grant(1)
	e.Time = time.Now().Add(-time.Hour)
	if err := tr.Record(t.Context(), e); !errors.Is(err, audit.ErrInvalidEvent) {
		t.Fatalf("Record of an hour-old time = %v", err)
	}
	e.Time = time.Now().Add(-time.Minute)
	if err := tr.Record(t.Context(), e); err != nil {
		t.Fatalf("Record of a minute-old time = %v", err)
	}
	e.Time = time.Now().Add(24 * time.Hour)
	tr.RecordBestEffort(t.Context(), e)
	got, _, err := tr.Query(t.Context(), audit.Filter{})
	if err != nil || len(got) != 2 || time.Since(got[0].Time) > time.Minute || got[0].Detail["sanitized"] != "true" {
		t.Fatalf("Query = %+v, %v", got, err)
	}
}
