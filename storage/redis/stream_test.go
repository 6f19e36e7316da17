package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/actas-dev/actas/storage"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
	"github.com/actas-dev/actas/storage/storagetest"
)

// TestStreams runs the stream conformance suite on the Redis that redistest provides.
func TestStreams(t *testing.T) {
	t.Logf("redis: %s", redistest.Which())
	storagetest.RunStreamTests(t, func(t *testing.T) storage.Streams { return redistest.New(t) })
}

// TestStreamsMiniredis runs the suite on miniredis too, the fallback of a machine without
// redis-server.
func TestStreamsMiniredis(t *testing.T) {
	m := miniredis.RunT(t)
	storagetest.RunStreamTests(t, func(t *testing.T) storage.Streams {
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

// TestStreamLayout: a stream is three prefixed keys in one hash slot (one script can touch them
// on a Cluster), the log a real Redis Stream with the fields h and v, and none of them expires.
func TestStreamLayout(t *testing.T) {
	t.Parallel()
	kv := redistest.New(t)
	ctx := t.Context()
	if _, err := kv.AppendChained(ctx, "audit", "", "h1", []byte("v1"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.AppendChained(ctx, "audit", "h1", "h2", []byte("v2"), 1); err != nil {
		t.Fatal(err)
	}
	p := kv.Prefix()
	keys := []string{p + "{audit}:log", p + "{audit}:head", p + "{audit}:checkpoint"}
	for _, k := range keys {
		if redisstore.KeySlot(k) != redisstore.KeySlot(keys[0]) {
			t.Fatalf("%s is in another slot than %s", k, keys[0])
		}
		ttl, err := kv.Client().PTTL(ctx, k).Result()
		if err != nil || ttl != -1 {
			t.Fatalf("PTTL %s = %v, %v; want -1 (exists, no expiry)", k, ttl, err)
		}
	}
	msgs, err := kv.Client().XRange(ctx, keys[0], "-", "+").Result()
	if err != nil || len(msgs) != 1 || msgs[0].Values["h"] != "h2" || msgs[0].Values["v"] != "v2" {
		t.Fatalf("XRANGE = %+v, %v", msgs, err)
	}
	if h, _ := kv.Client().Get(ctx, keys[1]).Result(); h != "h2" {
		t.Fatalf("head key = %q", h)
	}
	cp, _ := kv.Client().HGetAll(ctx, keys[2]).Result()
	if cp["head"] != "h1" || cp["trimmed"] != "1" || !strings.Contains(cp["id"], "-") {
		t.Fatalf("checkpoint hash = %v", cp)
	}
}

// TestStreamUnavailable: a stream call on a stopped Redis fails with ErrUnavailable in bounded
// time.
func TestStreamUnavailable(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	kv, err := redisstore.New(t.Context(), redisstore.Options{URL: srv.URL(), Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kv.Close() })
	srv.Stop()
	start := time.Now()
	_, err = kv.AppendChained(t.Context(), "audit", "", "h1", []byte("v"), 0)
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("append on a stopped Redis: %v, want ErrUnavailable", err)
	}
	if _, err := kv.Head(t.Context(), "audit"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("head on a stopped Redis: %v, want ErrUnavailable", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func BenchmarkStreams(b *testing.B) {
	storagetest.RunStreamBenchmarks(b, func(b *testing.B) storage.Streams { return redistest.New(b) })
}
