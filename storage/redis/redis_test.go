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

func TestMain(m *testing.M) { redistest.Main(m) }

// TestKV runs the conformance suite on the Redis that redistest provides: a Cluster, a given URL,
// a throwaway redis-server, or miniredis.
func TestKV(t *testing.T) {
	t.Logf("redis: %s", redistest.Which())
	storagetest.RunKVTests(t, func(t *testing.T) storage.KV { return redistest.New(t) })
}

// TestKVMiniredis runs the suite on miniredis as well, so that the fallback a machine without
// redis-server uses is known to pass even where redis-server is installed.
func TestKVMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	m.ClockTTL(true)
	storagetest.RunKVTests(t, func(t *testing.T) storage.KV {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		kv, err := redisstore.New(ctx, redisstore.Options{URL: "redis://" + m.Addr(), KeyPrefix: "mini:", Timeout: redistest.TestTimeout})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kv.Close() })
		return kv
	})
}

func BenchmarkKV(b *testing.B) {
	storagetest.RunKVBenchmarks(b, func(b *testing.B) storage.KV { return redistest.New(b) })
}
