package httpx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// quiet discards the log lines of tests that do not look at them.
var quiet = slog.New(slog.DiscardHandler)

func TestNewServerTimeouts(t *testing.T) {
	t.Parallel()
	s := NewServer("127.0.0.1:0", http.NotFoundHandler(), Timeouts{Read: 7 * time.Second, MaxHeaderBytes: 1024})
	if s.ReadHeaderTimeout != DefaultReadHeaderTimeout || s.ReadTimeout != 7*time.Second ||
		s.WriteTimeout != DefaultWriteTimeout || s.IdleTimeout != DefaultIdleTimeout ||
		s.MaxHeaderBytes != 1024 || s.ErrorLog == nil {
		t.Fatalf("server: %+v", s)
	}
	if s := NewServer(":0", nil, Timeouts{}); s.MaxHeaderBytes != DefaultMaxHeaderBytes {
		t.Fatalf("MaxHeaderBytes = %d", s.MaxHeaderBytes)
	}
}

func TestListenAddressInUse(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	first := &NamedServer{Name: "public", Server: NewServer("127.0.0.1:0", http.NotFoundHandler(), Timeouts{})}
	second := &NamedServer{Name: "ops", Server: NewServer(busy.Addr().String(), http.NotFoundHandler(), Timeouts{})}

	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), quiet, nil, time.Second, first, second) }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not fail fast on a used address")
	}
	if err == nil || !strings.Contains(err.Error(), "ops server") || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("err = %v, want one naming the ops server and %s", err, busy.Addr())
	}
	if first.Listener != nil {
		t.Fatal("the listener bound before the failure was left open")
	}

	if err := Listen(&NamedServer{Name: "x", Server: &http.Server{}}); err == nil || !strings.Contains(err.Error(), "x server") {
		t.Fatalf("empty address: %v", err)
	}
}

func TestRunServeError(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_ = ln.Close() // Serve on a closed listener fails at once
	ok := &NamedServer{Name: "ops", Server: NewServer("127.0.0.1:0", http.NotFoundHandler(), Timeouts{})}
	bad := &NamedServer{Name: "public", Server: NewServer("", http.NotFoundHandler(), Timeouts{}), Listener: ln}
	r := NewReadiness(nil, time.Hour, 0, quiet, nil)
	err = Run(context.Background(), quiet, r, time.Second, ok, bad)
	if err == nil || !strings.Contains(err.Error(), "public server") {
		t.Fatalf("err = %v", err)
	}
	if ready, reason := r.Ready(); ready || reason != "draining" {
		t.Fatalf("readiness after a failed server: %v %q", ready, reason)
	}
}

// TestGracefulShutdown: on cancel, an in-flight request completes while new connections are refused.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "slow done")
	})
	log, _ := newLogger(t)
	pub := &NamedServer{Name: "public", Server: NewServer("127.0.0.1:0", Wrap(mux, WrapOptions{Logger: log}), Timeouts{})}
	if err := Listen(pub); err != nil {
		t.Fatal(err)
	}
	addr := pub.Addr()
	r := NewReadiness(nil, time.Hour, 0, log, nil)
	r.SetDrainDelay(0)
	r.Start(context.Background())

	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, log, r, 10*time.Second, pub) }()

	type result struct {
		body string
		err  error
	}
	slow := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/slow")
		if err != nil {
			slow <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slow <- result{body: string(b), err: err}
	}()
	<-started
	cancel()

	eventually(t, "new connections refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		_ = c.Close()
		return false
	})
	if ready, reason := r.Ready(); ready || reason != "draining" {
		t.Fatalf("readiness while shutting down: %v %q", ready, reason)
	}
	// Give a wrong implementation (Close instead of Shutdown) time to show itself; the right one does
	// not depend on this pause.
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-runErr:
		t.Fatalf("Run returned before the in-flight request finished: %v", err)
	case res := <-slow:
		t.Fatalf("in-flight request ended before it was released: %q %v", res.body, res.err)
	default:
	}

	close(release)
	res := <-slow
	if res.err != nil || res.body != "slow done" {
		t.Fatalf("in-flight request: %q %v", res.body, res.err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// TestDrainDelay: during the drain delay /readyz is 503 while the public listener still serves.
func TestDrainDelay(t *testing.T) {
	t.Parallel()
	m := NewMetrics("", "")
	r := NewReadiness(okCheck, time.Hour, 0, quiet, m)
	r.SetDrainDelay(3 * time.Second) // room for the checks below on a loaded machine
	r.Start(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "pong") })
	pub := &NamedServer{Name: "public", Server: NewServer("127.0.0.1:0", Wrap(mux, WrapOptions{}), Timeouts{})}
	ops := &NamedServer{Name: "ops", Server: NewServer("127.0.0.1:0", OpsHandler(r, m), Timeouts{})}
	if err := Listen(pub, ops); err != nil {
		t.Fatal(err)
	}
	get := func(url string) (int, error) {
		resp, err := http.Get(url)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- Run(ctx, quiet, r, 5*time.Second, pub, ops) }()
	eventually(t, "ready", func() bool { code, _ := get("http://" + ops.Addr() + "/readyz"); return code == 200 })

	cancel()
	eventually(t, "readyz 503 while draining", func() bool {
		code, err := get("http://" + ops.Addr() + "/readyz")
		if err != nil {
			t.Fatalf("ops listener closed before readiness turned red: %v", err)
		}
		return code == 503
	})
	if code, err := get("http://" + pub.Addr() + "/ping"); err != nil || code != 200 {
		t.Fatalf("public listener during the drain delay: %d %v", code, err)
	}
	if err := <-runErr; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, err := get("http://" + pub.Addr() + "/ping"); err == nil {
		t.Fatalf("public listener still open after Run: %v", err)
	}
}
