package storagetest

import (
	"strconv"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// RunKVBenchmarks measures the hot primitives of a [storage.KV]: Create of fresh keys, Get of one
// key, and a chain of CompareAndSwap on one key. newKV is called once per benchmark and registers
// its own cleanup. Run with: go test -run '^$' -bench KV ./storage/...
func RunKVBenchmarks(b *testing.B, newKV func(b *testing.B) storage.KV) {
	b.Run("Create", func(b *testing.B) {
		kv, n := newKV(b), kvNewNS()
		i := 0
		for b.Loop() {
			if err := kv.Create(b.Context(), n.key(strconv.Itoa(i)), []byte("value"), time.Minute); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("Get", func(b *testing.B) {
		kv, n := newKV(b), kvNewNS()
		if err := kv.Set(b.Context(), n.key("k"), []byte("value"), time.Minute); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := kv.Get(b.Context(), n.key("k")); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("CompareAndSwap", func(b *testing.B) {
		kv, n := newKV(b), kvNewNS()
		if err := kv.Set(b.Context(), n.key("k"), []byte("0"), time.Minute); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			old, next := []byte(strconv.Itoa(i)), []byte(strconv.Itoa(i+1))
			if err := kv.CompareAndSwap(b.Context(), n.key("k"), old, next, time.Minute); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
