package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// kvIndexedCases check the optional IndexedCreator capability; every backend of this module has
// it, so a backend without it fails here rather than silently taking the slower path.
var kvIndexedCases = []kvCase{
	{"ok/creates-key-and-index-entry", func(t *testing.T, kv storage.KV, n kvNS) {
		ic := kvIndexed(t, kv)
		kvMust(t, ic.CreateIndexed(t.Context(), n.key("idx"), time.Hour, "m1", n.key("k1"), []byte("v1"), time.Hour))
		kvWantValue(t, kv, n.key("k1"), []byte("v1"))
		kvWantMembers(t, kv, n.key("idx"), "m1")
		kvWantTTLAbout(t, kv, n.key("k1"), time.Hour)
	}},
	{"fail/existing-key-conflicts", func(t *testing.T, kv storage.KV, n kvNS) {
		ic := kvIndexed(t, kv)
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("old"), time.Hour))
		err := ic.CreateIndexed(t.Context(), n.key("idx"), time.Hour, "m", n.key("k"), []byte("new"), time.Hour)
		kvWantErr(t, err, storage.ErrConflict)
		kvWantValue(t, kv, n.key("k"), []byte("old"))
	}},
	{"ok/index-ttl-only-grows", func(t *testing.T, kv storage.KV, n kvNS) {
		ic := kvIndexed(t, kv)
		kvMust(t, ic.CreateIndexed(t.Context(), n.key("idx"), 2*time.Hour, "a", n.key("a"), []byte("a"), time.Hour))
		kvMust(t, ic.CreateIndexed(t.Context(), n.key("idx"), time.Minute, "b", n.key("b"), []byte("b"), time.Minute))
		kvWantMembers(t, kv, n.key("idx"), "a", "b")
		kvWantTTLAbout(t, kv, n.key("idx"), 2*time.Hour)
	}},
}

// kvAddGetCases check the optional AddingReader capability (every backend of this module has it).
var kvAddGetCases = []kvCase{
	{"ok/adds-then-reads", func(t *testing.T, kv storage.KV, n kvNS) {
		ar := kvAddGet(t, kv)
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte("v"), time.Hour))
		got, err := ar.SetAddGet(t.Context(), n.key("s"), time.Hour, "m1", n.key("k"))
		kvMust(t, err)
		if string(got) != "v" {
			t.Fatalf("SetAddGet read %q, want %q", got, "v")
		}
		kvWantMembers(t, kv, n.key("s"), "m1")
		kvWantTTLAbout(t, kv, n.key("s"), time.Hour)
	}},
	{"fail/missing-key-still-adds", func(t *testing.T, kv storage.KV, n kvNS) {
		ar := kvAddGet(t, kv)
		_, err := ar.SetAddGet(t.Context(), n.key("s"), time.Hour, "m1", n.key("missing"))
		kvWantErr(t, err, storage.ErrNotFound)
		kvWantMembers(t, kv, n.key("s"), "m1")
	}},
	{"ok/set-ttl-only-grows", func(t *testing.T, kv storage.KV, n kvNS) {
		ar := kvAddGet(t, kv)
		kvMust(t, kv.Set(t.Context(), n.key("k"), []byte(""), time.Hour))
		_, err := ar.SetAddGet(t.Context(), n.key("s"), 2*time.Hour, "a", n.key("k"))
		kvMust(t, err)
		got, err := ar.SetAddGet(t.Context(), n.key("s"), time.Minute, "b", n.key("k"))
		kvMust(t, err)
		if len(got) != 0 {
			t.Fatalf("SetAddGet read %q, want the empty value", got)
		}
		kvWantMembers(t, kv, n.key("s"), "a", "b")
		kvWantTTLAbout(t, kv, n.key("s"), 2*time.Hour)
	}},
}

// kvWriteCreateCases check the optional WritingCreator capability (every backend of this module
// has it). The writes' keys are untagged: on a Cluster they lie in other slots than the entries.
var kvWriteCreateCases = []kvCase{
	{"ok/writes-then-creates", func(t *testing.T, kv storage.KV, n kvNS) {
		wc := kvWriteCreate(t, kv)
		kvMust(t, wc.WriteCreateAll(t.Context(), []storage.Write{
			{Key: n.key("ptr"), Value: []byte("p"), TTL: 3 * time.Hour},
			{Key: n.key("idx1"), Value: []byte("m1"), TTL: time.Hour, Add: true},
			{Key: n.key("idx2"), Value: []byte("m2"), TTL: 2 * time.Hour, Add: true},
		}, []storage.Entry{
			{Key: n.tagged("lock"), Value: []byte("l"), TTL: time.Minute},
			{Key: n.tagged("rec"), Value: []byte("r"), TTL: time.Hour},
		}))
		kvWantValue(t, kv, n.key("ptr"), []byte("p"))
		kvWantTTLAbout(t, kv, n.key("ptr"), 3*time.Hour)
		kvWantMembers(t, kv, n.key("idx1"), "m1")
		kvWantTTLAbout(t, kv, n.key("idx1"), time.Hour)
		kvWantMembers(t, kv, n.key("idx2"), "m2")
		kvWantTTLAbout(t, kv, n.key("idx2"), 2*time.Hour)
		kvWantValue(t, kv, n.tagged("lock"), []byte("l"))
		kvWantTTLAbout(t, kv, n.tagged("lock"), time.Minute)
		kvWantValue(t, kv, n.tagged("rec"), []byte("r"))
		kvWantTTLAbout(t, kv, n.tagged("rec"), time.Hour)
	}},
	{"fail/existing-entry-conflicts", func(t *testing.T, kv storage.KV, n kvNS) {
		wc := kvWriteCreate(t, kv)
		kvMust(t, kv.Set(t.Context(), n.tagged("rec"), []byte("old"), time.Hour))
		err := wc.WriteCreateAll(t.Context(), []storage.Write{{Key: n.key("idx"), Value: []byte("m"), TTL: time.Hour, Add: true}},
			[]storage.Entry{{Key: n.tagged("lock"), Value: []byte("l"), TTL: time.Hour}, {Key: n.tagged("rec"), Value: []byte("new"), TTL: time.Hour}})
		kvWantErr(t, err, storage.ErrConflict)
		kvWantValue(t, kv, n.tagged("rec"), []byte("old"))
		if _, err := kv.Get(t.Context(), n.tagged("lock")); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after a conflict the other entry exists (Get: %v): the creation is all or nothing", err)
		}
	}},
	{"ok/set-ttl-only-grows", func(t *testing.T, kv storage.KV, n kvNS) {
		wc := kvWriteCreate(t, kv)
		kvMust(t, kv.SetAdd(t.Context(), n.key("idx"), 2*time.Hour, "a"))
		kvMust(t, wc.WriteCreateAll(t.Context(), []storage.Write{{Key: n.key("idx"), Value: []byte("b"), TTL: time.Minute, Add: true}},
			[]storage.Entry{{Key: n.tagged("k"), Value: []byte("v"), TTL: time.Minute}}))
		kvWantMembers(t, kv, n.key("idx"), "a", "b")
		kvWantTTLAbout(t, kv, n.key("idx"), 2*time.Hour)
	}},
}

func kvWriteCreate(t *testing.T, kv storage.KV) storage.WritingCreator {
	t.Helper()
	wc, ok := kv.(storage.WritingCreator)
	if !ok {
		t.Fatalf("%T does not implement storage.WritingCreator", kv)
	}
	return wc
}

func kvAddGet(t *testing.T, kv storage.KV) storage.AddingReader {
	t.Helper()
	ar, ok := kv.(storage.AddingReader)
	if !ok {
		t.Fatalf("%T does not implement storage.AddingReader", kv)
	}
	return ar
}

func kvIndexed(t *testing.T, kv storage.KV) storage.IndexedCreator {
	t.Helper()
	ic, ok := kv.(storage.IndexedCreator)
	if !ok {
		t.Fatalf("%T does not implement storage.IndexedCreator", kv)
	}
	return ic
}
