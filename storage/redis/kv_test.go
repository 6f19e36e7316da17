package redis_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
)

// TestCreateAllCrossSlot: keys of one CreateAll that a Cluster could not run together are refused
// on every deployment, and nothing is written.
func TestCreateAllCrossSlot(t *testing.T) {
	t.Parallel()
	kv := redistest.New(t)
	a, b := "x:a", "x:b"
	for i := 0; redisstore.KeySlot(kv.Prefix()+a) == redisstore.KeySlot(kv.Prefix()+b); i++ {
		b = fmt.Sprintf("x:b%d", i)
	}
	err := kv.CreateAll(t.Context(), []storage.Entry{
		{Key: a, Value: []byte("v"), TTL: time.Minute},
		{Key: b, Value: []byte("v"), TTL: time.Minute},
	})
	if !errors.Is(err, redisstore.ErrCrossSlot) {
		t.Fatalf("error = %v, want ErrCrossSlot", err)
	}
	for _, k := range []string{a, b} {
		if _, err := kv.Get(t.Context(), k); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("get %q after a refused CreateAll: %v, want ErrNotFound", k, err)
		}
	}
}

// TestKeyPrefix: every key lands under the prefix, and Client and Prefix expose both.
func TestKeyPrefix(t *testing.T) {
	t.Parallel()
	kv := redistest.New(t)
	if !strings.HasPrefix(kv.Prefix(), "actas-test-") {
		t.Fatalf("Prefix() = %q, want the one redistest chose", kv.Prefix())
	}
	if err := kv.Set(t.Context(), "{p}:k", []byte("v"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := kv.SetAdd(t.Context(), "{p}:s", time.Minute, "m"); err != nil {
		t.Fatal(err)
	}
	got, err := kv.Client().Get(t.Context(), kv.Prefix()+"{p}:k").Result()
	if err != nil || got != "v" {
		t.Errorf("raw GET of the prefixed key = %q, %v", got, err)
	}
	if n, err := kv.Client().SCard(t.Context(), kv.Prefix()+"{p}:s").Result(); err != nil || n != 1 {
		t.Errorf("raw SCARD of the prefixed set = %d, %v", n, err)
	}
	if _, err := kv.Client().Get(t.Context(), "{p}:k").Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("the unprefixed key exists: %v", err)
	}
}

func TestMemoryUsage(t *testing.T) {
	t.Parallel()
	kv := redistest.New(t)
	if err := kv.Set(t.Context(), "big", make([]byte, 4096), time.Minute); err != nil {
		t.Fatal(err)
	}
	n, err := kv.MemoryUsage(t.Context(), "big")
	if err != nil {
		t.Fatal(err)
	}
	if n < 4096 {
		t.Errorf("MemoryUsage = %d, want at least the 4096 bytes of the value", n)
	}
	if _, err := kv.MemoryUsage(t.Context(), "missing"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("MemoryUsage of a missing key: %v, want ErrNotFound", err)
	}
}

// TestKeySlotMatchesCluster compares KeySlot with CLUSTER KEYSLOT on a real Cluster (the
// .ci/redis-cluster.sh run).
func TestKeySlotMatchesCluster(t *testing.T) {
	if redistest.Which() != redistest.KindCluster {
		t.Skipf("needs %s (set by .ci/redis-cluster.sh)", redistest.EnvCluster)
	}
	kv := redistest.New(t)
	for i := range 200 {
		key := fmt.Sprintf("actas:k%d:{grant-%d}:x", i, i%7)
		if i%3 == 0 {
			key = fmt.Sprintf("plain-%d", i)
		}
		want, err := kv.Client().ClusterKeySlot(t.Context(), key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := redisstore.KeySlot(key); int64(got) != want {
			t.Errorf("KeySlot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
		}
	}
}

// TestErrorMapping: server replies that mean "cannot serve now" wrap ErrUnavailable; other replies
// do not; the text carries no value.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name        string
		reply       string
		unavailable bool
	}{
		{"ok/loading", "LOADING Redis is loading the dataset in memory", true},
		{"ok/clusterdown", "CLUSTERDOWN The cluster is down", true},
		{"ok/readonly", "READONLY You can't write against a read only replica.", true},
		{"ok/masterdown", "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.", true},
		{"ok/tryagain", "TRYAGAIN Multiple keys request during rehashing of slot", true},
		{"ok/busy", "BUSY Redis is busy running a script.", true},
		{"ok/max-clients", "ERR max number of clients reached", true},
		{"ok/oom", "OOM command not allowed when used memory > 'maxmemory'.", true},
		{"ok/moved", "MOVED 3999 127.0.0.1:6381", true},
		{"ok/ask", "ASK 3999 127.0.0.1:6381", true},
		{"ok/other-error-is-not-unavailable", "ERR something else", false},
		{"ok/wrongtype-is-not-unavailable", "WRONGTYPE Operation against a key holding the wrong kind of value", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := miniredis.RunT(t)
			kv, err := redisstore.New(t.Context(), redisstore.Options{URL: "redis://" + m.Addr()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = kv.Close() })
			m.SetError(tc.reply)
			err = kv.CompareAndSwap(t.Context(), "k", []byte("secret-old"), []byte("secret-new"), time.Minute)
			if err == nil {
				t.Fatal("no error")
			}
			if got := errors.Is(err, storage.ErrUnavailable); got != tc.unavailable {
				t.Errorf("error %q: unavailable = %v, want %v", err, got, tc.unavailable)
			}
			if strings.Contains(err.Error(), "secret-") {
				t.Errorf("error %q shows a value", err)
			}
		})
	}
}

// TestTTLLastMillisecond: a key in its last millisecond (PTTL 0) is reported alive with a positive
// TTL, never as a key without expiry (0), which a caller keeping the TTL would make permanent.
func TestTTLLastMillisecond(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	kv, err := redisstore.New(t.Context(), redisstore.Options{URL: "redis://" + m.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Set("k", "v"); err != nil {
		t.Fatal(err)
	}
	m.SetTTL("k", 400*time.Microsecond)
	d, err := kv.TTL(t.Context(), "k")
	if err != nil || d <= 0 {
		t.Fatalf("TTL of a key in its last millisecond = %v, %v; want a positive TTL", d, err)
	}
}
