package memory_test

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/storagetest"
)

func TestStreams(t *testing.T) {
	storagetest.RunStreamTests(t, func(t *testing.T) storage.Streams { return memory.New() })
}

// TestStreamRingBound: without a length limit, an in-memory stream is still a bounded ring that
// trims to MaxStreamLen and records the checkpoint.
func TestStreamRingBound(t *testing.T) {
	t.Parallel()
	kv := memory.New()
	prev := ""
	total := memory.MaxStreamLen + 5
	for i := range total {
		h := "h" + strconv.Itoa(i)
		if _, err := kv.AppendChained(t.Context(), "ring", prev, h, nil, 0); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
	cp, err := kv.Checkpoint(t.Context(), "ring")
	if err != nil || cp.Trimmed != 5 || cp.Head != "h4" {
		t.Fatalf("Checkpoint = %+v, %v; want 5 trimmed up to h4", cp, err)
	}
	es, err := kv.ReadRange(t.Context(), "ring", "", 1, false)
	if err != nil || len(es) != 1 || es[0].Head != "h5" {
		t.Fatalf("oldest entry = %+v, %v; want h5", es, err)
	}
}

// TestStreamClock: positions follow the store's clock, and stay increasing when it stands still or
// goes back.
func TestStreamClock(t *testing.T) {
	t.Parallel()
	now := time.UnixMilli(5000)
	kv := memory.New(memory.WithClock(func() time.Time { return now }))
	var ids []string
	prev := ""
	for i, at := range []int64{5000, 5000, 4000, 6000} {
		now = time.UnixMilli(at)
		h := "h" + strconv.Itoa(i)
		id, err := kv.AppendChained(t.Context(), "c", prev, h, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids, prev = append(ids, id), h
	}
	want := []string{"5000-0", "5000-1", "5000-2", "6000-0"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("positions = %v, want %v", ids, want)
		}
	}
}

// TestStreamsCollected: a dropped store's streams do not outlive it (they are held weakly).
func TestStreamsCollected(t *testing.T) {
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	runtime.GC()
	before := heap()
	const stores, size = 16, 4 << 20
	for range stores {
		kv := memory.New()
		if _, err := kv.AppendChained(t.Context(), "s", "", "h", make([]byte, size), 0); err != nil {
			t.Fatal(err)
		}
	}
	// Cleanups run after a collection, in their own goroutine: poll.
	for range 50 {
		runtime.GC()
		if after := heap(); after < before+stores*size/4 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("heap grew from %d to %d bytes and stays there after dropping %d stores of %d bytes",
		before, heap(), stores, size)
}

func BenchmarkStreams(b *testing.B) {
	storagetest.RunStreamBenchmarks(b, func(b *testing.B) storage.Streams { return memory.New() })
}
