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

func kvIndexed(t *testing.T, kv storage.KV) storage.IndexedCreator {
	t.Helper()
	ic, ok := kv.(storage.IndexedCreator)
	if !ok {
		t.Fatalf("%T does not implement storage.IndexedCreator", kv)
	}
	return ic
}
