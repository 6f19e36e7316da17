package storagetest

import (
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
