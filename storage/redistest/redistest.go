package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	redisstore "github.com/actas-dev/actas/storage/redis"
)

// Environment variables the helper reads.
const (
	// EnvCluster lists the seed nodes of a Redis Cluster, host:port,host:port,...
	EnvCluster = "ACTAS_TEST_REDIS_CLUSTER"
	// EnvURL is the URL of a Redis server to use instead of a throwaway one.
	EnvURL = "ACTAS_TEST_REDIS_URL"
	// EnvRequire, when "1", makes a missing Redis fail the test instead of falling back to miniredis
	// (Options) or skipping (StartServer).
	EnvRequire = "ACTAS_TEST_REQUIRE_REDIS"
)

// Kind says which Redis [Options] hands out.
type Kind string

const (
	KindCluster   Kind = "cluster"      // ACTAS_TEST_REDIS_CLUSTER
	KindURL       Kind = "url"          // ACTAS_TEST_REDIS_URL
	KindServer    Kind = "redis-server" // a throwaway redis-server from PATH
	KindMiniredis Kind = "miniredis"    // in-process fallback
	KindMissing   Kind = "missing"      // none, and ACTAS_TEST_REQUIRE_REDIS=1
)

// TestTimeout is the per-call timeout in the Options handed out: longer than the production
// default, so that a loaded CI machine running -race does not turn into flaky timeouts.
const TestTimeout = 2 * time.Second

// Which reports the Kind that Options would use, from the environment and PATH, without starting
// anything.
func Which() Kind {
	switch {
	case os.Getenv(EnvCluster) != "":
		return KindCluster
	case os.Getenv(EnvURL) != "":
		return KindURL
	case serverOnPath():
		return KindServer
	case required():
		return KindMissing
	default:
		return KindMiniredis
	}
}

func required() bool { return os.Getenv(EnvRequire) == "1" }

func serverOnPath() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// Options returns options for a clean Redis (see the package doc for which one) with a key prefix
// of its own, so that nothing the test writes collides with another test. Keys written under that
// prefix on an external server (Cluster or URL) are deleted when the test ends; a throwaway server
// or miniredis goes away instead.
func Options(t testing.TB) redisstore.Options {
	t.Helper()
	// AutoPipeline as in production (storage.redis.auto_pipeline defaults to true).
	o := redisstore.Options{KeyPrefix: "actas-test-" + randomHex(8) + ":", Timeout: TestTimeout, AutoPipeline: true}
	switch k := Which(); k {
	case KindCluster:
		o.URL = "redis+cluster://" + strings.ReplaceAll(os.Getenv(EnvCluster), " ", "")
		t.Cleanup(func() { deletePrefixed(t, o) })
	case KindURL:
		o.URL = os.Getenv(EnvURL)
		t.Cleanup(func() { deletePrefixed(t, o) })
	case KindServer:
		o.URL = "redis://" + acquireShared(t)
	case KindMissing:
		t.Fatalf("redistest: %s=1 but no Redis: set %s or %s, or put redis-server on PATH "+
			"(Debian: apt-get install redis-server)", EnvRequire, EnvURL, EnvCluster)
	default:
		m := miniredis.RunT(t)
		// Let TTLs run down with the wall clock, as on a real server.
		m.ClockTTL(true)
		miniOnce.Do(func() {
			fmt.Fprintf(os.Stderr, "redistest: redis-server not on PATH and %s not set: using in-process miniredis\n", EnvURL)
		})
		o.URL = "redis://" + m.Addr()
	}
	return o
}

var miniOnce sync.Once

// URL returns the URL of the Redis that Options would use (a redis+cluster:// URL for a Cluster).
// Without a key prefix of its own, a test that writes through it must choose unique keys.
func URL(t testing.TB) string {
	t.Helper()
	return Options(t).URL
}

// New returns a KV on Options(t), closed when the test ends.
func New(t testing.TB) *redisstore.KV {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := redisstore.New(ctx, Options(t))
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(func() { _ = kv.Close() })
	return kv
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deletePrefixed removes the keys a test wrote under its prefix on an external server.
func deletePrefixed(t testing.TB, o redisstore.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := o.KeyPrefix
	o.KeyPrefix = ""
	kv, err := redisstore.New(ctx, o)
	if err != nil {
		t.Logf("redistest: cleaning up %s*: %v", prefix, err)
		return
	}
	defer kv.Close()
	clean := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			// One key per UNLINK: keys of one node may still lie in different slots.
			if err := c.Unlink(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	switch c := kv.Client().(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, clean)
	case *redis.Client:
		err = clean(ctx, c)
	}
	if err != nil {
		t.Logf("redistest: cleaning up %s*: %v", prefix, err)
	}
}

// shared is the throwaway redis-server of this test binary.
var shared struct {
	mu     sync.Mutex
	p      *process
	dir    string
	refs   int
	pinned bool
}

// acquireShared starts the shared server if needed and holds it until the test ends.
func acquireShared(t testing.TB) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.p == nil {
		dir, err := os.MkdirTemp("", "actas-redistest-")
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		p, err := startOnFreePort(dir)
		if err != nil {
			_ = os.RemoveAll(dir)
			t.Fatalf("redistest: %v", err)
		}
		shared.p, shared.dir = p, dir
	}
	shared.refs++
	t.Cleanup(releaseShared)
	return shared.p.addr()
}

func releaseShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.refs--
	if shared.refs == 0 && !shared.pinned {
		stopShared()
	}
}

// stopShared stops the shared server; callers hold shared.mu.
func stopShared() {
	if shared.p != nil {
		shared.p.stop()
		_ = os.RemoveAll(shared.dir)
		shared.p, shared.dir = nil, ""
	}
}

// Main runs the tests of a package and stops the shared redis-server at the end. Without it, the
// server is stopped whenever no test holds it, and started again by the next one; with it, the
// package's tests share one server:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.pinned = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	shared.pinned = false
	stopShared()
	shared.mu.Unlock()
	os.Exit(code)
}
