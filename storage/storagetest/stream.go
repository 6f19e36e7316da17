package storagetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// RunStreamTests is the conformance suite of the [storage.Streams] capability. Every backend runs it
// unchanged from its own test file:
//
//	func TestStreams(t *testing.T) {
//		storagetest.RunStreamTests(t, func(t *testing.T) storage.Streams { return memory.New() })
//	}
//
// newStreams is called once per subtest, possibly from parallel subtests; stores may be shared,
// since every subtest uses a stream name of its own. The suite covers the compare-and-set on the
// head (conflicts write nothing), reads in both directions with exclusive cursors, trimming by
// length and by age with the checkpoint, argument checks, cancelled contexts, and goroutines that
// append to one chain at once.
func RunStreamTests(t *testing.T, newStreams func(t *testing.T) storage.Streams) {
	for _, tc := range streamCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStreams(t), streamNewName())
		})
	}
}

type streamCase struct {
	name string
	run  func(t *testing.T, s storage.Streams, name string)
}

func streamNewName() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "st-" + hex.EncodeToString(b)
}

// streamHead is the head value the suite's n-th append sets.
func streamHead(i int) string { return "h" + strconv.Itoa(i) }

// streamAppendN appends n chained entries h1..hn (value "v<i>") to an empty stream and returns
// their positions.
func streamAppendN(t *testing.T, s storage.Streams, name string, n int, maxLen int64) []string {
	t.Helper()
	ids := make([]string, 0, n)
	prev := ""
	for i := 1; i <= n; i++ {
		id, err := s.AppendChained(t.Context(), name, prev, streamHead(i), []byte("v"+strconv.Itoa(i)), maxLen)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		ids = append(ids, id)
		prev = streamHead(i)
	}
	return ids
}

func streamRead(t *testing.T, s storage.Streams, name, after string, limit int, reverse bool) []storage.StreamEntry {
	t.Helper()
	es, err := s.ReadRange(t.Context(), name, after, limit, reverse)
	if err != nil {
		t.Fatalf("read after %q (reverse %v): %v", after, reverse, err)
	}
	return es
}

// streamWantHeads checks the entries' heads, in order.
func streamWantHeads(t *testing.T, es []storage.StreamEntry, want ...int) {
	t.Helper()
	got := make([]string, len(es))
	for i, e := range es {
		got[i] = e.Head
	}
	w := make([]string, len(want))
	for i, n := range want {
		w[i] = streamHead(n)
	}
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Fatalf("entries' heads = %v, want %v", got, w)
	}
}

func streamWantHead(t *testing.T, s storage.Streams, name, want string) {
	t.Helper()
	h, err := s.Head(t.Context(), name)
	if err != nil || h != want {
		t.Fatalf("Head = %q, %v; want %q", h, err, want)
	}
}

func streamWantCheckpoint(t *testing.T, s storage.Streams, name string, want storage.StreamCheckpoint) {
	t.Helper()
	cp, err := s.Checkpoint(t.Context(), name)
	if err != nil || cp != want {
		t.Fatalf("Checkpoint = %+v, %v; want %+v", cp, err, want)
	}
}

var streamCases = []streamCase{
	{"ok/empty-stream", func(t *testing.T, s storage.Streams, name string) {
		streamWantHead(t, s, name, "")
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{})
		if es := streamRead(t, s, name, "", 10, false); len(es) != 0 {
			t.Fatalf("read of a missing stream = %v", es)
		}
		if es := streamRead(t, s, name, "", 10, true); len(es) != 0 {
			t.Fatalf("reverse read of a missing stream = %v", es)
		}
		if n, err := s.TrimBefore(t.Context(), name, time.Now().Add(time.Hour)); err != nil || n != 0 {
			t.Fatalf("TrimBefore of a missing stream = %d, %v", n, err)
		}
	}},
	{"ok/append-read-order", func(t *testing.T, s storage.Streams, name string) {
		ids := streamAppendN(t, s, name, 3, 0)
		streamWantHead(t, s, name, streamHead(3))
		es := streamRead(t, s, name, "", 10, false)
		streamWantHeads(t, es, 1, 2, 3)
		var prev storage.StreamID
		for i, e := range es {
			if e.ID != ids[i] || string(e.Value) != "v"+strconv.Itoa(i+1) {
				t.Fatalf("entry %d = %s %q, want %s %q", i, e.ID, e.Value, ids[i], "v"+strconv.Itoa(i+1))
			}
			id, err := storage.ParseStreamID(e.ID)
			if err != nil {
				t.Fatalf("position %q: %v", e.ID, err)
			}
			if id.Compare(prev) <= 0 {
				t.Fatalf("position %s is not after %s", id, prev)
			}
			if d := time.Since(id.Time()); d < -time.Minute || d > time.Minute {
				t.Fatalf("position %s is %v away from now: want the backend's clock", e.ID, d)
			}
			prev = id
		}
		streamWantHeads(t, streamRead(t, s, name, "", 10, true), 3, 2, 1)
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{})
	}},
	{"ok/batch-appends-in-order-and-trims-once", func(t *testing.T, s storage.Streams, name string) {
		streamAppendN(t, s, name, 2, 0)
		batch := []storage.ChainedEntry{{Head: streamHead(3), Value: []byte("v3")}, {Head: streamHead(4), Value: []byte("v4")}, {Head: streamHead(5), Value: []byte("v5")}}
		if _, err := s.AppendChainedBatch(t.Context(), name, streamHead(1), batch, 0); !errors.Is(err, storage.ErrConflict) {
			t.Fatalf("batch on a stale head: err = %v, want ErrConflict", err)
		}
		streamWantHead(t, s, name, streamHead(2))
		ids, err := s.AppendChainedBatch(t.Context(), name, streamHead(2), batch, 4)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 3 {
			t.Fatalf("positions = %v, want 3", ids)
		}
		streamWantHead(t, s, name, streamHead(5))
		es := streamRead(t, s, name, "", 10, false)
		streamWantHeads(t, es, 2, 3, 4, 5)
		for i, e := range es[1:] {
			if e.ID != ids[i] || string(e.Value) != "v"+strconv.Itoa(i+3) {
				t.Fatalf("entry %d = %s %q, want %s v%d", i+3, e.ID, e.Value, ids[i], i+3)
			}
		}
		cp, err := s.Checkpoint(t.Context(), name)
		if err != nil || cp.Head != streamHead(1) || cp.Trimmed != 1 {
			t.Fatalf("checkpoint = %+v, %v; want head h1, 1 trimmed", cp, err)
		}
	}},
	{"fail/batch-size", func(t *testing.T, s storage.Streams, name string) {
		if _, err := s.AppendChainedBatch(t.Context(), name, "", nil, 0); err == nil {
			t.Fatal("an empty batch was accepted")
		}
		big := make([]storage.ChainedEntry, storage.MaxChainedBatch+1)
		for i := range big {
			big[i] = storage.ChainedEntry{Head: streamHead(i), Value: []byte("v")}
		}
		if _, err := s.AppendChainedBatch(t.Context(), name, "", big, 0); err == nil {
			t.Fatal("an oversized batch was accepted")
		}
		streamWantHead(t, s, name, "")
	}},
	{"ok/binary-value-is-a-copy", func(t *testing.T, s storage.Streams, name string) {
		v := []byte{0, 1, 0xff, '\n', '"', 0x80, 0}
		if _, err := s.AppendChained(t.Context(), name, "", "h1", v, 0); err != nil {
			t.Fatal(err)
		}
		v[0] = 'X'
		es := streamRead(t, s, name, "", 1, false)
		if !bytes.Equal(es[0].Value, []byte{0, 1, 0xff, '\n', '"', 0x80, 0}) {
			t.Fatalf("value = %q", es[0].Value)
		}
		es[0].Value[1] = 'Y'
		if es := streamRead(t, s, name, "", 1, false); es[0].Value[1] != 1 {
			t.Fatalf("the read value aliases the stored one")
		}
	}},
	{"fail/conflict-on-empty-stream", func(t *testing.T, s storage.Streams, name string) {
		_, err := s.AppendChained(t.Context(), name, "not-the-head", "h1", []byte("v"), 0)
		kvWantErr(t, err, storage.ErrConflict)
		streamWantHead(t, s, name, "")
		if es := streamRead(t, s, name, "", 10, false); len(es) != 0 {
			t.Fatalf("a refused append wrote %v", es)
		}
	}},
	{"fail/conflict-stale-head", func(t *testing.T, s storage.Streams, name string) {
		streamAppendN(t, s, name, 2, 0)
		for _, stale := range []string{"", streamHead(1), "h-unknown"} {
			_, err := s.AppendChained(t.Context(), name, stale, "h-x", []byte("x"), 1)
			kvWantErr(t, err, storage.ErrConflict)
		}
		streamWantHead(t, s, name, streamHead(2))
		streamWantHeads(t, streamRead(t, s, name, "", 10, false), 1, 2)
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{})
	}},
	{"ok/pagination-both-ways", func(t *testing.T, s storage.Streams, name string) {
		ids := streamAppendN(t, s, name, 5, 0)
		p1 := streamRead(t, s, name, "", 2, false)
		streamWantHeads(t, p1, 1, 2)
		p2 := streamRead(t, s, name, p1[1].ID, 2, false)
		streamWantHeads(t, p2, 3, 4)
		streamWantHeads(t, streamRead(t, s, name, p2[1].ID, 2, false), 5)
		streamWantHeads(t, streamRead(t, s, name, ids[4], 2, false))
		r1 := streamRead(t, s, name, "", 2, true)
		streamWantHeads(t, r1, 5, 4)
		r2 := streamRead(t, s, name, r1[1].ID, 2, true)
		streamWantHeads(t, r2, 3, 2)
		streamWantHeads(t, streamRead(t, s, name, r2[1].ID, 2, true), 1)
		streamWantHeads(t, streamRead(t, s, name, ids[0], 2, true))
		// A cursor need not be an existing position: it is a bound.
		streamWantHeads(t, streamRead(t, s, name, "0-0", 10, false), 1, 2, 3, 4, 5)
		streamWantHeads(t, streamRead(t, s, name, "0-1", 10, true))
		streamWantHeads(t, streamRead(t, s, name, "18446744073709551615-18446744073709551615", 1, true), 5)
		streamWantHeads(t, streamRead(t, s, name, "18446744073709551615-18446744073709551615", 1, false))
	}},
	{"ok/trim-by-length-records-checkpoint", func(t *testing.T, s storage.Streams, name string) {
		ids := streamAppendN(t, s, name, 5, 3)
		streamWantHeads(t, streamRead(t, s, name, "", 10, false), 3, 4, 5)
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{Head: streamHead(2), ID: ids[1], Trimmed: 2})
		streamWantHead(t, s, name, streamHead(5))
		// A larger maxLen trims nothing; a smaller one trims several at once.
		id6, err := s.AppendChained(t.Context(), name, streamHead(5), streamHead(6), []byte("v6"), 100)
		if err != nil {
			t.Fatal(err)
		}
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{Head: streamHead(2), ID: ids[1], Trimmed: 2})
		if _, err := s.AppendChained(t.Context(), name, streamHead(6), streamHead(7), []byte("v7"), 1); err != nil {
			t.Fatal(err)
		}
		streamWantHeads(t, streamRead(t, s, name, "", 10, false), 7)
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{Head: streamHead(6), ID: id6, Trimmed: 6})
	}},
	{"ok/trim-before", func(t *testing.T, s storage.Streams, name string) {
		ids := streamAppendN(t, s, name, 2, 0)
		last, _ := storage.ParseStreamID(ids[1])
		// Let the backend's clock move past the second entry's millisecond.
		time.Sleep(3 * time.Millisecond)
		id3, err := s.AppendChained(t.Context(), name, streamHead(2), streamHead(3), []byte("v3"), 0)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := storage.ParseStreamID(id3); p.MS <= last.MS {
			t.Fatalf("clock did not move: %s after %s", id3, ids[1])
		}
		p3, _ := storage.ParseStreamID(id3)
		if n, err := s.TrimBefore(t.Context(), name, time.UnixMilli(1)); err != nil || n != 0 {
			t.Fatalf("TrimBefore(epoch) = %d, %v", n, err)
		}
		n, err := s.TrimBefore(t.Context(), name, p3.Time())
		if err != nil || n != 2 {
			t.Fatalf("TrimBefore(third entry's time) = %d, %v; want 2", n, err)
		}
		streamWantHeads(t, streamRead(t, s, name, "", 10, false), 3)
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{Head: streamHead(2), ID: ids[1], Trimmed: 2})
		n, err = s.TrimBefore(t.Context(), name, p3.Time().Add(time.Hour))
		if err != nil || n != 1 {
			t.Fatalf("TrimBefore(later) = %d, %v; want 1", n, err)
		}
		streamWantHeads(t, streamRead(t, s, name, "", 10, false))
		streamWantCheckpoint(t, s, name, storage.StreamCheckpoint{Head: streamHead(3), ID: id3, Trimmed: 3})
		streamWantHead(t, s, name, streamHead(3)) // trimming never moves the head
		if _, err := s.AppendChained(t.Context(), name, streamHead(3), streamHead(4), []byte("v4"), 0); err != nil {
			t.Fatalf("append after trimming everything: %v", err)
		}
	}},
	{"ok/trim-before-many", func(t *testing.T, s storage.Streams, name string) {
		const n = 2100 // more than one batch of a backend that trims in batches of 1000
		streamAppendN(t, s, name, n, 0)
		got, err := s.TrimBefore(t.Context(), name, time.Now().Add(time.Hour))
		if err != nil || got != n {
			t.Fatalf("TrimBefore = %d, %v; want %d", got, err, n)
		}
		cp, err := s.Checkpoint(t.Context(), name)
		if err != nil || cp.Head != streamHead(n) || cp.Trimmed != n {
			t.Fatalf("Checkpoint = %+v, %v", cp, err)
		}
	}},
	{"ok/streams-are-separate", func(t *testing.T, s storage.Streams, name string) {
		other := name + "-other"
		streamAppendN(t, s, name, 2, 0)
		streamWantHead(t, s, other, "")
		if _, err := s.AppendChained(t.Context(), other, "", "o1", []byte("o"), 1); err != nil {
			t.Fatal(err)
		}
		streamWantHeads(t, streamRead(t, s, name, "", 10, false), 1, 2)
		streamWantHead(t, s, name, streamHead(2))
	}},
	{"fail/invalid-arguments", func(t *testing.T, s storage.Streams, name string) {
		ctx := t.Context()
		for _, bad := range []string{"", "a{b}", "a b", "x\n", string(make([]byte, storage.MaxStreamNameLen+1))} {
			_, err := s.AppendChained(ctx, bad, "", "h", []byte("v"), 0)
			kvWantErr(t, err, storage.ErrInvalidArgument)
			_, err = s.ReadRange(ctx, bad, "", 1, false)
			kvWantErr(t, err, storage.ErrInvalidArgument)
			_, err = s.Head(ctx, bad)
			kvWantErr(t, err, storage.ErrInvalidArgument)
			_, err = s.Checkpoint(ctx, bad)
			kvWantErr(t, err, storage.ErrInvalidArgument)
			_, err = s.TrimBefore(ctx, bad, time.Now())
			kvWantErr(t, err, storage.ErrInvalidArgument)
		}
		for _, limit := range []int{0, -1, storage.MaxStreamRead + 1} {
			_, err := s.ReadRange(ctx, name, "", limit, false)
			kvWantErr(t, err, storage.ErrInvalidArgument)
		}
		for _, cursor := range []string{"abc", "1", "1-", "-1", "01-1", "1-x", "1-2-3", "99999999999999999999999-0"} {
			_, err := s.ReadRange(ctx, name, cursor, 1, true)
			kvWantErr(t, err, storage.ErrInvalidArgument)
		}
	}},
	{"fail/canceled-context", func(t *testing.T, s storage.Streams, name string) {
		ctx := kvCanceled(t)
		if _, err := s.AppendChained(ctx, name, "", "h1", []byte("v"), 0); err == nil {
			t.Fatal("append with a canceled context succeeded")
		}
		if _, err := s.ReadRange(ctx, name, "", 1, false); err == nil {
			t.Fatal("read with a canceled context succeeded")
		}
		if _, err := s.Head(ctx, name); err == nil {
			t.Fatal("head with a canceled context succeeded")
		}
		streamWantHead(t, s, name, "")
	}},
	{"ok/concurrent-appends-keep-one-chain", func(t *testing.T, s storage.Streams, name string) {
		const writers, each = 8, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := 0; i < each; {
					head, err := s.Head(t.Context(), name)
					if err != nil {
						errs <- err
						return
					}
					// The value records the head it expects, so the chain can be checked below.
					_, err = s.AppendChained(t.Context(), name, head, fmt.Sprintf("w%d-%d", w, i), []byte(head), 0)
					switch {
					case errors.Is(err, storage.ErrConflict):
						continue
					case err != nil:
						errs <- err
						return
					}
					i++
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		es := streamRead(t, s, name, "", storage.MaxStreamRead, false)
		if len(es) != writers*each {
			t.Fatalf("%d entries, want %d", len(es), writers*each)
		}
		prev := ""
		for i, e := range es {
			if string(e.Value) != prev {
				t.Fatalf("entry %d expected head %q, the previous entry set %q: the chain forked", i, e.Value, prev)
			}
			prev = e.Head
		}
		streamWantHead(t, s, name, prev)
	}},
}

// RunStreamBenchmarks measures a chained append (the audit trail's hot path) with the head known,
// and with trimming by length on every append. Run with: go test -run '^$' -bench Stream ./storage/...
func RunStreamBenchmarks(b *testing.B, newStreams func(b *testing.B) storage.Streams) {
	value := bytes.Repeat([]byte("x"), 600) // about one audit event
	for _, maxLen := range []int64{0, 100} {
		b.Run("AppendChained/maxlen="+strconv.FormatInt(maxLen, 10), func(b *testing.B) {
			s, name := newStreams(b), streamNewName()
			prev, i := "", 0
			for b.Loop() {
				i++
				if _, err := s.AppendChained(b.Context(), name, prev, streamHead(i), value, maxLen); err != nil {
					b.Fatal(err)
				}
				prev = streamHead(i)
			}
		})
	}
}
