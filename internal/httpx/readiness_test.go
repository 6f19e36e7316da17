package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// fakeCheck fails while down is set.
type fakeCheck struct {
	down  atomic.Bool
	calls atomic.Int64
}

func (f *fakeCheck) check(context.Context) error {
	f.calls.Add(1)
	if f.down.Load() {
		return fmt.Errorf("redis: ping: %w", storage.ErrUnavailable)
	}
	return nil
}

func readyz(t *testing.T, h http.Handler) (int, map[string]any) {
	t.Helper()
	rr := httptest.NewRecorder()
	h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rr.Code, decodeJSON(t, rr.Body.Bytes())
}

func TestReadinessFlips(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	m := NewMetrics("", "")
	fc := &fakeCheck{}
	r := NewReadiness(fc.check, 5*time.Millisecond, 50*time.Millisecond, log, m)
	ops := OpsHandler(r, m)

	if ok, reason := r.Ready(); ok || reason != "starting" {
		t.Fatalf("before Start: %v %q", ok, reason)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r.Start(ctx)
	if code, body := readyz(t, ops); code != 200 || body["status"] != "ready" {
		t.Fatalf("after Start: %d %v", code, body)
	}

	fc.down.Store(true)
	eventually(t, "readyz red", func() bool { code, _ := readyz(t, ops); return code == 503 })
	code, body := readyz(t, ops)
	if code != 503 || body["status"] != "not_ready" || !strings.HasPrefix(body["reason"].(string), "storage: redis: ping") {
		t.Fatalf("down: %d %v", code, body)
	}
	// Several failing runs, one log line.
	n := fc.calls.Load()
	eventually(t, "more failing runs", func() bool { return fc.calls.Load() >= n+3 })

	fc.down.Store(false)
	eventually(t, "readyz green", func() bool { code, _ := readyz(t, ops); return code == 200 })

	var failed, recovered int
	for _, l := range logs.lines(t) {
		switch l["msg"] {
		case "readiness check failed":
			failed++
		case "readiness check recovered":
			recovered++
		}
	}
	if failed != 1 || recovered != 1 {
		t.Errorf("transitions logged: failed %d, recovered %d, want 1 and 1:\n%s", failed, recovered, logs.String())
	}
	if got := series(t, m, "actas_storage_errors_total", map[string]string{"op": "ping"}); len(got) != 1 || got[0].GetCounter().GetValue() < 3 {
		t.Errorf("storage ping errors: %v", got)
	}
	if got := series(t, m, "actas_ready", nil); len(got) != 1 || got[0].GetGauge().GetValue() != 1 {
		t.Errorf("actas_ready: %v", got)
	}
}

func TestReadinessChecks(t *testing.T) {
	t.Parallel()
	errKeys := errors.New("no active signing key")
	tests := []struct {
		name       string
		storage    CheckFunc
		keys       CheckFunc
		draining   bool
		wantReady  bool
		wantReason string
	}{
		{name: "ok/all-pass", storage: okCheck, keys: okCheck, wantReady: true},
		{name: "ok/no-checks", wantReady: true},
		{name: "fail/keys", storage: okCheck, keys: func(context.Context) error { return errKeys }, wantReason: "keys: no active signing key"},
		{name: "fail/first-failing-named", storage: func(context.Context) error { return storage.ErrUnavailable }, keys: func(context.Context) error { return errKeys }, wantReason: "storage: storage: unavailable"},
		{name: "fail/timeout", storage: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }, wantReason: "storage: context deadline exceeded"},
		{name: "fail/panic", storage: func(context.Context) error { panic("bug") }, wantReason: "storage: check panicked: bug"},
		{name: "fail/draining", storage: okCheck, draining: true, wantReason: "draining"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := NewReadiness(tc.storage, time.Hour, 20*time.Millisecond, quiet, nil)
			if tc.keys != nil {
				r.AddCheck("keys", tc.keys)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r.Start(ctx)
			if tc.draining {
				r.SetDraining()
				r.SetDraining() // idempotent
			}
			ok, reason := r.Ready()
			if ok != tc.wantReady || reason != tc.wantReason {
				t.Fatalf("Ready() = %v %q, want %v %q", ok, reason, tc.wantReady, tc.wantReason)
			}
			code, body := readyz(t, OpsHandler(r, nil))
			if wantCode := map[bool]int{true: 200, false: 503}[tc.wantReady]; code != wantCode {
				t.Fatalf("/readyz = %d %v, want %d", code, body, wantCode)
			}
			if !tc.wantReady && body["reason"] != tc.wantReason {
				t.Fatalf("/readyz reason %v", body["reason"])
			}
		})
	}
}

func okCheck(context.Context) error { return nil }

func TestReadinessStopsWithContext(t *testing.T) {
	t.Parallel()
	fc := &fakeCheck{}
	r := NewReadiness(fc.check, time.Millisecond, 10*time.Millisecond, quiet, nil)
	ctx, cancel := context.WithCancel(context.Background())
	r.Start(ctx)
	eventually(t, "background runs", func() bool { return fc.calls.Load() > 2 })
	cancel()
	// After cancel the loop ends: the count settles.
	var last int64 = -1
	eventually(t, "loop stopped", func() bool {
		n := fc.calls.Load()
		stable := n == last
		last = n
		time.Sleep(20 * time.Millisecond)
		return stable
	})
}
