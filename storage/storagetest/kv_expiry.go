package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// kvShortTTL is the ttl of keys that the expiry cases watch disappear.
const kvShortTTL = 150 * time.Millisecond

// kvExpiryWait bounds how long an expired key may linger before the case fails.
const kvExpiryWait = 5 * time.Second

// kvExpiryCases use real short ttls. They assert only "still there right after the write" (when the
// check ran within the ttl) and "eventually gone", never how long expiry took.
var kvExpiryCases = []kvCase{
	{"ok/set", func(t *testing.T, kv storage.KV, n kvNS) {
		start := time.Now()
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), kvShortTTL))
		kvWantPresentSince(t, kv, n.key("k"), start)
		kvWantGone(t, kv, n.key("k"))
		_, err := kv.TTL(t.Context(), n.key("k"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
	{"ok/create-again-after-expiry", func(t *testing.T, kv storage.KV, n kvNS) {
		start := time.Now()
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("first"), kvShortTTL))
		kvWantPresentSince(t, kv, n.key("k"), start)
		kvWantGone(t, kv, n.key("k"))
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("second"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("second"))
	}},
	{"ok/create-all-per-entry-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		start := time.Now()
		kvMust(t, kv.CreateAll(t.Context(), []storage.Entry{
			{Key: n.tagged("short"), Value: []byte("s"), TTL: kvShortTTL},
			{Key: n.tagged("long"), Value: []byte("l"), TTL: time.Hour},
		}))
		kvWantPresentSince(t, kv, n.tagged("short"), start)
		kvWantGone(t, kv, n.tagged("short"))
		kvWantValue(t, kv, n.tagged("long"), []byte("l"))
	}},
	{"ok/compare-and-swap-sets-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("old"), time.Hour))
		start := time.Now()
		kvMust(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("old"), []byte("new"), kvShortTTL))
		kvWantPresentSince(t, kv, n.key("k"), start)
		kvWantGone(t, kv, n.key("k"))
		kvWantErr(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("new"), []byte("x"), time.Hour), storage.ErrNotFound)
	}},
	{"ok/set-add", func(t *testing.T, kv storage.KV, n kvNS) {
		start := time.Now()
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), kvShortTTL, "m"))
		got, err := kv.SetMembers(t.Context(), n.key("s"))
		kvMust(t, err)
		if len(got) != 1 && time.Since(start) < kvShortTTL {
			t.Fatalf("set members right after SetAdd = %q, want [m]", got)
		}
		kvEventually(t, func() bool {
			got, err := kv.SetMembers(t.Context(), n.key("s"))
			kvMust(t, err)
			return got == nil
		}, "set %q still has members after its ttl", n.key("s"))
		_, err = kv.TTL(t.Context(), n.key("s"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
	{"ok/set-add-extended-outlives-short-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		start := time.Now()
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), kvShortTTL, "short"))
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "long"))
		if time.Since(start) >= kvShortTTL {
			t.Skipf("the two writes took %v, past the short ttl: cannot tell", time.Since(start))
		}
		time.Sleep(2 * kvShortTTL)
		kvWantMembers(t, kv, n.key("s"), "short", "long")
		kvWantTTLAbout(t, kv, n.key("s"), time.Hour)
	}},
}

// wantPresentSince checks that a key written with kvShortTTL after start is still there, unless the
// check itself ran too late to tell (a loaded machine): then it only logs.
func kvWantPresentSince(t *testing.T, kv storage.KV, key string, start time.Time) {
	t.Helper()
	_, err := kv.Get(t.Context(), key)
	switch {
	case err == nil:
	case errors.Is(err, storage.ErrNotFound) && time.Since(start) >= kvShortTTL:
		t.Logf("get %q ran %v after the write, past the ttl: presence not checked", key, time.Since(start))
	default:
		t.Fatalf("get %q right after the write: %v", key, err)
	}
}

// wantGone polls until the key is not found.
func kvWantGone(t *testing.T, kv storage.KV, key string) {
	t.Helper()
	kvEventually(t, func() bool {
		_, err := kv.Get(t.Context(), key)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("get %q: %v", key, err)
		}
		return err != nil
	}, "key %q still there after its ttl", key)
}

// eventually polls cond until it holds, failing after kvExpiryWait.
func kvEventually(t *testing.T, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(kvExpiryWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
