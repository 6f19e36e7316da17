package storage_test

import (
	"testing"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/storagetest"
)

// TestStore runs the Store conformance suite on the in-memory KV.
func TestStore(t *testing.T) {
	storagetest.RunTests(t, func(*testing.T) storage.KV { return memory.New() })
}

// BenchmarkStore measures the Store's hot paths on the in-memory KV.
func BenchmarkStore(b *testing.B) {
	storagetest.RunBenchmarks(b, func(testing.TB) storage.KV { return memory.New() })
}
