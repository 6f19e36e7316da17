package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/actas-dev/actas/storage"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
	"github.com/actas-dev/actas/storage/storagetest"
)

// TestStore runs the Store conformance suite on the Redis that redistest provides: a Cluster, a
// given URL, a throwaway redis-server, or miniredis.
func TestStore(t *testing.T) {
	t.Logf("redis: %s", redistest.Which())
	storagetest.RunTests(t, func(t *testing.T) storage.KV { return redistest.New(t) })
}

// TestStorePlainClient runs the Store suite without automatic pipelining
// (storage.redis.auto_pipeline: false), which redistest turns on as production does.
func TestStorePlainClient(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T) storage.KV {
		o := redistest.Options(t)
		o.AutoPipeline = false
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		kv, err := redisstore.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kv.Close() })
		return kv
	})
}

// TestStoreMiniredis runs the Store suite on miniredis as well, so that the fallback of a machine
// without redis-server is known to pass even where redis-server is installed.
func TestStoreMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	m.ClockTTL(true)
	storagetest.RunTests(t, func(t *testing.T) storage.KV {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		kv, err := redisstore.New(ctx, redisstore.Options{URL: "redis://" + m.Addr(), KeyPrefix: "store-" + t.Name() + ":", Timeout: redistest.TestTimeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kv.Close() })
		return kv
	})
}

// BenchmarkStore measures the Store's hot paths on Redis (round trips dominate).
func BenchmarkStore(b *testing.B) {
	storagetest.RunBenchmarks(b, func(tb testing.TB) storage.KV { return redistest.New(tb) })
}
