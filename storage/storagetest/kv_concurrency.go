package storagetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// kvRacers is how many goroutines race for one key.
const kvRacers = 50

// race runs f(i) for i in [0, n) in n goroutines released at once, and returns their errors.
func kvRace(n int, f func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = f(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// oneWinner checks that exactly one error is nil and all others wrap loser; it returns the
// winner's index.
func kvOneWinner(t *testing.T, errs []error, loser error) int {
	t.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("goroutines %d and %d both succeeded", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, loser):
			t.Fatalf("goroutine %d: error = %v, want one wrapping %v", i, err, loser)
		}
	}
	if winner < 0 {
		t.Fatalf("no goroutine succeeded")
	}
	return winner
}

func kvRacerValue(i int) []byte { return fmt.Appendf(nil, "racer-%d", i) }

var kvConcurrencyCases = []kvCase{
	{"ok/create-one-winner", func(t *testing.T, kv storage.KV, n kvNS) {
		errs := kvRace(kvRacers, func(i int) error {
			return kv.Create(t.Context(), n.key("k"), kvRacerValue(i), time.Hour)
		})
		w := kvOneWinner(t, errs, storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), kvRacerValue(w))
	}},
	{"ok/compare-and-swap-one-winner", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("start"), time.Hour))
		errs := kvRace(kvRacers, func(i int) error {
			return kv.CompareAndSwap(t.Context(), n.key("k"), []byte("start"), kvRacerValue(i), time.Hour)
		})
		w := kvOneWinner(t, errs, storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), kvRacerValue(w))
	}},
	{"ok/compare-and-delete-one-winner", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		errs := kvRace(kvRacers, func(int) error {
			return kv.CompareAndDelete(t.Context(), n.key("k"), []byte("v"))
		})
		kvOneWinner(t, errs, storage.ErrNotFound)
		kvWantMissing(t, kv, n.key("k"))
	}},
	{"ok/create-all-same-keys-one-winner", func(t *testing.T, kv storage.KV, n kvNS) {
		names := []string{n.tagged("a"), n.tagged("b"), n.tagged("c")}
		errs := kvRace(kvRacers, func(i int) error {
			// Each goroutine lists the keys in another order.
			entries := make([]storage.Entry, len(names))
			for j := range names {
				entries[j] = storage.Entry{Key: names[(i+j)%len(names)], Value: kvRacerValue(i), TTL: time.Hour}
			}
			return kv.CreateAll(t.Context(), entries)
		})
		w := kvOneWinner(t, errs, storage.ErrConflict)
		for _, k := range names {
			kvWantValue(t, kv, k, kvRacerValue(w))
		}
	}},
	{"ok/create-all-overlapping-no-partial-writes", func(t *testing.T, kv storage.KV, n kvNS) {
		// Goroutine i wants keys i and i+1: neighbours overlap. Whoever wins must own both of its
		// keys; whoever loses must own neither.
		key := func(j int) string { return n.tagged(fmt.Sprintf("k%d", j)) }
		errs := kvRace(kvRacers, func(i int) error {
			return kv.CreateAll(t.Context(), []storage.Entry{
				{Key: key(i), Value: kvRacerValue(i), TTL: time.Hour},
				{Key: key(i + 1), Value: kvRacerValue(i), TTL: time.Hour},
			})
		})
		owner := map[int][]byte{}
		for j := range kvRacers + 1 {
			v, err := kv.Get(t.Context(), key(j))
			switch {
			case errors.Is(err, storage.ErrNotFound):
			case err != nil:
				t.Fatalf("get %q: %v", key(j), err)
			default:
				owner[j] = v
			}
		}
		wins := 0
		for i, err := range errs {
			mine := kvRacerValue(i)
			holds := 0
			for _, j := range []int{i, i + 1} {
				if bytes.Equal(owner[j], mine) {
					holds++
				}
			}
			switch {
			case err == nil && holds != 2:
				t.Errorf("goroutine %d succeeded but holds %d of its 2 keys", i, holds)
			case err != nil && !errors.Is(err, storage.ErrConflict):
				t.Errorf("goroutine %d: error = %v, want ErrConflict", i, err)
			case err != nil && holds != 0:
				t.Errorf("goroutine %d failed but wrote %d key(s): a partial write", i, holds)
			case err == nil:
				wins++
			}
		}
		if wins == 0 {
			t.Errorf("no goroutine succeeded")
		}
		for j, v := range owner {
			if !bytes.HasPrefix(v, []byte("racer-")) {
				t.Errorf("key %d holds %q, written by nobody", j, v)
			}
		}
	}},
	{"ok/set-add-concurrent-members", func(t *testing.T, kv storage.KV, n kvNS) {
		want := make([]string, kvRacers)
		for i := range want {
			want[i] = fmt.Sprintf("m%d", i)
		}
		errs := kvRace(kvRacers, func(i int) error {
			return kv.SetAdd(t.Context(), n.key("s"), time.Duration(i+1)*time.Minute, want[i])
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		kvWantMembers(t, kv, n.key("s"), want...)
		// The ttl only grows, so the longest one wins whatever the order.
		kvWantTTLAbout(t, kv, n.key("s"), kvRacers*time.Minute)
	}},
}
