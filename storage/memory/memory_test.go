package memory_test

import (
	"testing"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
	"github.com/actas-dev/actas/storage/storagetest"
)

func TestKV(t *testing.T) {
	storagetest.RunKVTests(t, func(t *testing.T) storage.KV { return memory.New() })
}

func BenchmarkKV(b *testing.B) {
	storagetest.RunKVBenchmarks(b, func(b *testing.B) storage.KV { return memory.New() })
}
