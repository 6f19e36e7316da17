package redis_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
)

// failFast bounds how long a call may take to fail when Redis is gone: the default timeout plus
// slack for a loaded machine.
const failFast = redisstore.DefaultTimeout + time.Second

// kvCalls exercises every method of a KV once, with keys under tag.
func kvCalls(kv *redisstore.KV) []struct {
	name string
	call func(ctx context.Context) error
} {
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"set", func(ctx context.Context) error { return kv.Set(ctx, "{o}:k", []byte("v"), time.Minute) }},
		{"get", func(ctx context.Context) error { _, err := kv.Get(ctx, "{o}:k"); return err }},
		{"create", func(ctx context.Context) error { return kv.Create(ctx, "{o}:c", []byte("v"), time.Minute) }},
		{"create-all", func(ctx context.Context) error {
			return kv.CreateAll(ctx, []storage.Entry{
				{Key: "{o}:a", Value: []byte("v"), TTL: time.Minute},
				{Key: "{o}:b", Value: []byte("v"), TTL: time.Minute},
			})
		}},
		{"compare-and-swap", func(ctx context.Context) error {
			return kv.CompareAndSwap(ctx, "{o}:k", []byte("v"), []byte("w"), time.Minute)
		}},
		{"compare-and-delete", func(ctx context.Context) error { return kv.CompareAndDelete(ctx, "{o}:k", []byte("w")) }},
		{"set-add", func(ctx context.Context) error { return kv.SetAdd(ctx, "{o}:s", time.Minute, "m1", "m2") }},
		{"set-remove", func(ctx context.Context) error { return kv.SetRemove(ctx, "{o}:s", "m1") }},
		{"set-members", func(ctx context.Context) error { _, err := kv.SetMembers(ctx, "{o}:s"); return err }},
		{"ttl", func(ctx context.Context) error { _, err := kv.TTL(ctx, "{o}:s"); return err }},
		{"memory-usage", func(ctx context.Context) error { _, err := kv.MemoryUsage(ctx, "{o}:s"); return err }},
		{"delete", func(ctx context.Context) error { return kv.Delete(ctx, "{o}:a", "{o}:b", "{o}:c", "{o}:s") }},
		{"ping", func(ctx context.Context) error { return kv.Ping(ctx) }},
	}
}

// TestOutage stops a real redis-server under a KV: every call fails within about a second with
// ErrUnavailable; when the server is back, the same KV works again.
func TestOutage(t *testing.T) {
	srv := redistest.StartServer(t)
	kv, err := redisstore.New(t.Context(), redisstore.Options{URL: srv.URL(), KeyPrefix: "outage:"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kv.Close() })
	calls := kvCalls(kv)
	for _, c := range calls {
		if err := c.call(t.Context()); err != nil {
			t.Fatalf("before the outage: %s: %v", c.name, err)
		}
	}

	srv.Stop()
	for _, c := range calls {
		start := time.Now()
		err := c.call(t.Context())
		if took := time.Since(start); took > failFast {
			t.Errorf("during the outage: %s took %v to fail, want under %v", c.name, took, failFast)
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("during the outage: %s: error = %v, want ErrUnavailable", c.name, err)
		}
	}

	srv.Start()
	deadline := time.Now().Add(10 * time.Second)
	for kv.Ping(t.Context()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the KV did not recover after the server came back: %v", kv.Ping(t.Context()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Every call works again, several times over, so no dead pooled connection is left to fail.
	for range 3 {
		for _, c := range calls {
			if err := c.call(t.Context()); err != nil {
				t.Fatalf("after the outage: %s: %v", c.name, err)
			}
		}
	}
}

// TestNewUnreachable: New names the address and wraps ErrUnavailable, fast, and never shows the
// password from the URL.
func TestNewUnreachable(t *testing.T) {
	addr := closedAddr(t)
	tests := []struct {
		name string
		opts redisstore.Options
	}{
		{"fail/url", redisstore.Options{URL: "redis://user:hunter2-pw@" + addr + "/0"}},
		{"fail/addrs", redisstore.Options{Addrs: []string{addr}, Password: "hunter2-pw"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			kv, err := redisstore.New(t.Context(), tc.opts)
			if err == nil {
				_ = kv.Close()
				t.Fatal("New succeeded on a closed port")
			}
			if took := time.Since(start); took > failFast {
				t.Errorf("New took %v to fail, want under %v", took, failFast)
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("error = %v, want ErrUnavailable", err)
			}
			if msg := err.Error(); !strings.Contains(msg, addr) || strings.Contains(msg, "hunter2-pw") {
				t.Errorf("error %q must name %s and not show the password", msg, addr)
			}
		})
	}
}

// TestNewUnresponsive: a server that accepts connections but never answers times out as
// ErrUnavailable within the configured timeout.
func TestNewUnresponsive(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = l.Close(); <-done })
	go func() {
		defer close(done)
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				_ = c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never answered
		}
	}()
	start := time.Now()
	kv, err := redisstore.New(t.Context(), redisstore.Options{Addrs: []string{l.Addr().String()}, Timeout: 200 * time.Millisecond})
	if err == nil {
		_ = kv.Close()
		t.Fatal("New succeeded against a silent server")
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("New took %v to fail, want about 200ms", took)
	}
	if !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("error = %v, want ErrUnavailable", err)
	}
}

// closedAddr returns a loopback address nobody listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}
