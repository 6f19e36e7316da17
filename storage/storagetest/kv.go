package storagetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// RunKVTests is the conformance suite of the [storage.KV] contract. Every backend runs it unchanged
// from its own test file:
//
//	func TestKV(t *testing.T) {
//		storagetest.RunKVTests(t, func(t *testing.T) storage.KV { return memory.New() })
//	}
//
// newKV is called once per subtest, possibly from parallel subtests; it returns a ready store and
// registers its own cleanup (t.Cleanup(kv.Close)). Stores may be shared between calls: every
// subtest uses keys under a random namespace of its own, and the keys that one CreateAll writes
// share a hash tag ("{ns}:a", "{ns}:b"), as Redis Cluster requires.
//
// The suite covers every method: not-found sentinels, create conflicts, all-or-nothing CreateAll,
// compare-and-swap/delete, sets whose ttl only grows, expiry with short real ttls (polled, never
// timed), cancelled contexts, error texts that never carry a value, and races between goroutines.
func RunKVTests(t *testing.T, newKV func(t *testing.T) storage.KV) {
	groups := []struct {
		name  string
		cases []kvCase
	}{
		{"get", kvGetCases},
		{"set", kvSetCases},
		{"create", kvCreateCases},
		{"create-all", kvCreateAllCases},
		{"compare-and-swap", kvCasCases},
		{"compare-and-delete", kvCadCases},
		{"delete", kvDeleteCases},
		{"sets", kvSetsCases},
		{"ttl", kvTtlCases},
		{"ping", kvPingCases},
		{"context", kvContextCases},
		{"error-text", kvErrorTextCases},
		{"expiry", kvExpiryCases},
		{"concurrency", kvConcurrencyCases},
		{"create-indexed", kvIndexedCases},
		{"set-add-get", kvAddGetCases},
		{"write-create-all", kvWriteCreateCases},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range g.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newKV(t), kvNewNS())
				})
			}
		})
	}
}

// kvCase is one subtest: run gets a fresh store and a namespace for its keys.
type kvCase struct {
	name string
	run  func(t *testing.T, kv storage.KV, ns kvNS)
}

// kvNS is a random namespace that makes a subtest's keys unique.
type kvNS string

func kvNewNS() kvNS {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return kvNS("kvt-" + hex.EncodeToString(b))
}

// key is an untagged key: different keys of one namespace may lie in different Cluster slots.
func (n kvNS) key(name string) string { return string(n) + ":" + name }

// tagged is a key with the namespace as hash tag: all tagged keys of one namespace share a slot.
func (n kvNS) tagged(name string) string { return "{" + string(n) + "}:" + name }

var kvGetCases = []kvCase{
	{"fail/not-found", func(t *testing.T, kv storage.KV, n kvNS) {
		_, err := kv.Get(t.Context(), n.key("missing"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
	{"ok/binary-value", func(t *testing.T, kv storage.KV, n kvNS) {
		v := []byte{0, 1, 2, 0xff, '\n', '\r', '"', 0x80, 0}
		kvMust(t, kv.Set(t.Context(), n.key("bin"), v, time.Hour))
		kvWantValue(t, kv, n.key("bin"), v)
	}},
	{"ok/empty-value", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("empty"), []byte{}, time.Hour))
		kvWantValue(t, kv, n.key("empty"), nil)
	}},
	{"ok/values-are-copies", func(t *testing.T, kv storage.KV, n kvNS) {
		in := []byte("original")
		kvMust(t, kv.Set(t.Context(), n.key("k"), in, time.Hour))
		in[0] = 'X'
		out, err := kv.Get(t.Context(), n.key("k"))
		kvMust(t, err)
		out[0] = 'Y'
		kvWantValue(t, kv, n.key("k"), []byte("original"))
	}},
}

var kvSetCases = []kvCase{
	{"ok/overwrite", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("one"), time.Hour))
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("two"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("two"))
	}},
	{"ok/ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		kvWantTTLAbout(t, kv, n.key("k"), time.Hour)
	}},
	{"ok/no-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), 0))
		kvWantTTL(t, kv, n.key("k"), 0)
	}},
	{"ok/overwrite-replaces-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("w"), 0))
		kvWantTTL(t, kv, n.key("k"), 0)
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("x"), 2*time.Hour))
		kvWantTTLAbout(t, kv, n.key("k"), 2*time.Hour)
	}},
}

var kvCreateCases = []kvCase{
	{"ok/absent", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("v"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("v"))
		kvWantTTLAbout(t, kv, n.key("k"), time.Hour)
	}},
	{"ok/no-ttl", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("v"), 0))
		kvWantTTL(t, kv, n.key("k"), 0)
	}},
	{"fail/exists", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("first"), time.Hour))
		kvWantErr(t, kv.Create(t.Context(), n.key("k"), []byte("second"), 2*time.Hour), storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), []byte("first"))
		kvWantTTLAbout(t, kv, n.key("k"), time.Hour)
	}},
	{"fail/twice", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("first"), time.Hour))
		kvWantErr(t, kv.Create(t.Context(), n.key("k"), []byte("first"), time.Hour), storage.ErrConflict)
	}},
	{"ok/after-delete", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("first"), time.Hour))
		kvMust(t, kv.Delete(t.Context(), n.key("k")))
		kvMust(t, kv.Create(t.Context(), n.key("k"), []byte("second"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("second"))
	}},
}

var kvCreateAllCases = []kvCase{
	{"ok/empty", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.CreateAll(t.Context(), nil))
	}},
	{"ok/single", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.CreateAll(t.Context(), []storage.Entry{{Key: n.tagged("a"), Value: []byte("va"), TTL: time.Hour}}))
		kvWantValue(t, kv, n.tagged("a"), []byte("va"))
	}},
	{"ok/all-written", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.CreateAll(t.Context(), []storage.Entry{
			{Key: n.tagged("a"), Value: []byte("va"), TTL: time.Hour},
			{Key: n.tagged("b"), Value: []byte("vb"), TTL: 2 * time.Hour},
			{Key: n.tagged("c"), Value: []byte("vc"), TTL: 0},
		}))
		kvWantValue(t, kv, n.tagged("a"), []byte("va"))
		kvWantValue(t, kv, n.tagged("b"), []byte("vb"))
		kvWantValue(t, kv, n.tagged("c"), []byte("vc"))
		kvWantTTLAbout(t, kv, n.tagged("a"), time.Hour)
		kvWantTTLAbout(t, kv, n.tagged("b"), 2*time.Hour)
		kvWantTTL(t, kv, n.tagged("c"), 0)
	}},
	{"fail/one-exists-nothing-written", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.tagged("b"), []byte("old"), time.Hour))
		err := kv.CreateAll(t.Context(), []storage.Entry{
			{Key: n.tagged("a"), Value: []byte("va"), TTL: time.Hour},
			{Key: n.tagged("b"), Value: []byte("vb"), TTL: time.Hour},
			{Key: n.tagged("c"), Value: []byte("vc"), TTL: time.Hour},
		})
		kvWantErr(t, err, storage.ErrConflict)
		kvWantMissing(t, kv, n.tagged("a"))
		kvWantMissing(t, kv, n.tagged("c"))
		kvWantValue(t, kv, n.tagged("b"), []byte("old"))
	}},
	{"fail/names-first-existing-key", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.tagged("b"), []byte("old"), time.Hour))
		kvMust(t, kv.Set(t.Context(), n.tagged("c"), []byte("old"), time.Hour))
		err := kv.CreateAll(t.Context(), []storage.Entry{
			{Key: n.tagged("a"), Value: []byte("va"), TTL: time.Hour},
			{Key: n.tagged("b"), Value: []byte("vb"), TTL: time.Hour},
			{Key: n.tagged("c"), Value: []byte("vc"), TTL: time.Hour},
		})
		kvWantErr(t, err, storage.ErrConflict)
		if !strings.Contains(err.Error(), n.tagged("b")) {
			t.Errorf("error %q does not name the first existing key %q", err, n.tagged("b"))
		}
		kvWantMissing(t, kv, n.tagged("a"))
	}},
}

var kvCasCases = []kvCase{
	{"ok/swap", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("old"), time.Minute))
		kvMust(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("old"), []byte("new"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("new"))
		kvWantTTLAbout(t, kv, n.key("k"), time.Hour)
	}},
	{"ok/ttl-zero-removes-expiry", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("old"), time.Hour))
		kvMust(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("old"), []byte("new"), 0))
		kvWantTTL(t, kv, n.key("k"), 0)
	}},
	{"ok/chain", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("a"), time.Hour))
		kvMust(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("a"), []byte("b"), time.Hour))
		kvWantErr(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("a"), []byte("c"), time.Hour), storage.ErrConflict)
		kvMust(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("b"), []byte("c"), time.Hour))
		kvWantValue(t, kv, n.key("k"), []byte("c"))
	}},
	{"fail/conflict", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("current"), time.Hour))
		err := kv.CompareAndSwap(t.Context(), n.key("k"), []byte("stale"), []byte("new"), 2*time.Hour)
		kvWantErr(t, err, storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), []byte("current"))
		kvWantTTLAbout(t, kv, n.key("k"), time.Hour)
	}},
	{"fail/prefix-is-not-equal", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("abc"), time.Hour))
		kvWantErr(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("ab"), []byte("x"), time.Hour), storage.ErrConflict)
		kvWantErr(t, kv.CompareAndSwap(t.Context(), n.key("k"), []byte("abcd"), []byte("x"), time.Hour), storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), []byte("abc"))
	}},
	{"fail/not-found", func(t *testing.T, kv storage.KV, n kvNS) {
		err := kv.CompareAndSwap(t.Context(), n.key("k"), []byte("old"), []byte("new"), time.Hour)
		kvWantErr(t, err, storage.ErrNotFound)
		kvWantMissing(t, kv, n.key("k"))
	}},
}

var kvCadCases = []kvCase{
	{"ok/delete", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		kvMust(t, kv.CompareAndDelete(t.Context(), n.key("k"), []byte("v")))
		kvWantMissing(t, kv, n.key("k"))
	}},
	{"fail/conflict", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("current"), time.Hour))
		kvWantErr(t, kv.CompareAndDelete(t.Context(), n.key("k"), []byte("stale")), storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), []byte("current"))
	}},
	{"fail/not-found", func(t *testing.T, kv storage.KV, n kvNS) {
		kvWantErr(t, kv.CompareAndDelete(t.Context(), n.key("k"), []byte("v")), storage.ErrNotFound)
	}},
	{"fail/second-delete", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		kvMust(t, kv.CompareAndDelete(t.Context(), n.key("k"), []byte("v")))
		kvWantErr(t, kv.CompareAndDelete(t.Context(), n.key("k"), []byte("v")), storage.ErrNotFound)
	}},
}

var kvDeleteCases = []kvCase{
	{"ok/no-keys", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Delete(t.Context()))
	}},
	{"ok/missing", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Delete(t.Context(), n.key("missing")))
	}},
	{"ok/several", func(t *testing.T, kv storage.KV, n kvNS) {
		// Untagged keys: on a Cluster they lie in different slots.
		for _, k := range []string{"a", "b", "c", "d"} {
			kvMust(t, kv.Set(t.Context(), n.key(k), []byte("v"), time.Hour))
		}
		kvMust(t, kv.Delete(t.Context(), n.key("a"), n.key("b"), n.key("c"), n.key("missing")))
		kvWantMissing(t, kv, n.key("a"))
		kvWantMissing(t, kv, n.key("b"))
		kvWantMissing(t, kv, n.key("c"))
		kvWantValue(t, kv, n.key("d"), []byte("v"))
	}},
	{"ok/tagged", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.Set(t.Context(), n.tagged("a"), []byte("v"), time.Hour))
		kvMust(t, kv.Set(t.Context(), n.tagged("b"), []byte("v"), time.Hour))
		kvMust(t, kv.Delete(t.Context(), n.tagged("a"), n.tagged("b")))
		kvWantMissing(t, kv, n.tagged("a"))
		kvWantMissing(t, kv, n.tagged("b"))
	}},
	{"ok/set", func(t *testing.T, kv storage.KV, n kvNS) {
		kvMust(t, kv.SetAdd(t.Context(), n.key("s"), time.Hour, "m"))
		kvMust(t, kv.Delete(t.Context(), n.key("s")))
		kvWantMembers(t, kv, n.key("s"))
		_, err := kv.TTL(t.Context(), n.key("s"))
		kvWantErr(t, err, storage.ErrNotFound)
	}},
}

var kvPingCases = []kvCase{
	{"ok", func(t *testing.T, kv storage.KV, n kvNS) { kvMust(t, kv.Ping(t.Context())) }},
}

// must fails the test on an error.
func kvMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantErr checks errors.Is(err, target).
func kvWantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want one wrapping %v", err, target)
	}
}

func kvWantValue(t *testing.T, kv storage.KV, key string, want []byte) {
	t.Helper()
	got, err := kv.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("get %q: %v", key, err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("get %q = %q, want %q", key, got, want)
	}
}

func kvWantMissing(t *testing.T, kv storage.KV, key string) {
	t.Helper()
	_, err := kv.Get(t.Context(), key)
	if !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("get %q: error = %v, want ErrNotFound", key, err)
	}
}

func kvWantTTL(t *testing.T, kv storage.KV, key string, want time.Duration) {
	t.Helper()
	got, err := kv.TTL(t.Context(), key)
	if err != nil {
		t.Fatalf("ttl %q: %v", key, err)
	}
	if got != want {
		t.Fatalf("ttl %q = %v, want %v", key, got, want)
	}
}

// wantTTLAbout checks that the remaining ttl is in (want-1m, want]: set moments ago with want.
func kvWantTTLAbout(t *testing.T, kv storage.KV, key string, want time.Duration) {
	t.Helper()
	got, err := kv.TTL(t.Context(), key)
	if err != nil {
		t.Fatalf("ttl %q: %v", key, err)
	}
	if got <= want-time.Minute || got > want {
		t.Fatalf("ttl %q = %v, want about %v", key, got, want)
	}
}

// wantMembers checks the set's members in any order; no members means SetMembers must give nil.
func kvWantMembers(t *testing.T, kv storage.KV, key string, want ...string) {
	t.Helper()
	got, err := kv.SetMembers(t.Context(), key)
	if err != nil {
		t.Fatalf("set members %q: %v", key, err)
	}
	if len(want) == 0 {
		if got != nil {
			t.Fatalf("set members %q = %q, want nil", key, got)
		}
		return
	}
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("set members %q = %q, want %q", key, got, want)
	}
}

// canceled returns a context that is already cancelled.
func kvCanceled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
