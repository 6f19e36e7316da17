package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Readiness defaults: with them /readyz turns red within about a second of a check starting to fail
// (at most one interval until the next run, plus one timeout for a check that hangs).
const (
	DefaultReadyInterval   = 500 * time.Millisecond
	DefaultReadyTimeout    = 400 * time.Millisecond
	DefaultDrainDelay      = time.Second
	StorageCheckName       = "storage"
	reasonDraining         = "draining"
	reasonNotStarted       = "starting"
	maxReasonLen           = 200
	storagePingErrorOpName = "ping"
)

// CheckFunc reports whether a dependency is usable. It must honour ctx's deadline.
type CheckFunc func(ctx context.Context) error

// Readiness runs checks in the background and answers "ready?" from their last results, so /readyz is
// cheap and never waits on a dependency. Ready means: started, not draining, and every check passed on
// its last run. It is safe for concurrent use.
type Readiness struct {
	interval, timeout time.Duration
	log               *slog.Logger
	metrics           *Metrics

	mu         sync.RWMutex
	checks     []*check
	started    bool
	draining   bool
	drainDelay time.Duration
}

type check struct {
	name string
	fn   CheckFunc
	ran  bool
	err  error
}

// NewReadiness returns a Readiness whose first check, named "storage", is check (nil: none). The
// checks run every interval (0: DefaultReadyInterval), each bounded by timeout (0: DefaultReadyTimeout).
// log (nil: slog.Default()) gets one line per transition, not one per run; metrics (nil: none) gets
// actas_ready and, for each failed storage run, actas_storage_errors_total{op="ping"}.
func NewReadiness(check CheckFunc, interval, timeout time.Duration, log *slog.Logger, metrics *Metrics) *Readiness {
	if interval <= 0 {
		interval = DefaultReadyInterval
	}
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Readiness{interval: interval, timeout: timeout, log: log, metrics: metrics, drainDelay: DefaultDrainDelay}
	if check != nil {
		r.AddCheck(StorageCheckName, check)
	}
	metrics.setReady(false)
	return r
}

// AddCheck adds a named check (e.g. "keys" for "signing keys loaded"). A failing check makes /readyz
// answer 503 with reason "name: error". A check added after Start counts as failing until its first
// run, at the next interval; add checks before Start.
func (r *Readiness) AddCheck(name string, fn CheckFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks = append(r.checks, &check{name: name, fn: fn})
}

// SetDrainDelay sets how long [Run] keeps serving with readiness red before it shuts the servers down,
// so that load balancers notice and stop sending new requests (default DefaultDrainDelay; 0: none).
// Make it longer than the balancer's probe period.
func (r *Readiness) SetDrainDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.drainDelay = max(d, 0)
}

// DrainDelay returns the delay set by SetDrainDelay.
func (r *Readiness) DrainDelay() time.Duration {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.drainDelay
}

// Start runs every check once before it returns (so readiness is known as soon as the server starts),
// then again every interval in a goroutine until ctx is done. Call it once.
func (r *Readiness) Start(ctx context.Context) {
	r.runChecks(ctx)
	r.mu.Lock()
	r.started = true
	r.mu.Unlock()
	r.publish()
	go func() {
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.runChecks(ctx)
				r.publish()
			}
		}
	}()
}

// SetDraining turns readiness red for good: the server is shutting down. It is idempotent.
func (r *Readiness) SetDraining() {
	r.mu.Lock()
	was := r.draining
	r.draining = true
	r.mu.Unlock()
	if !was {
		r.log.Info("readiness: draining")
	}
	r.publish()
}

// Ready reports whether the server should receive traffic, and if not, why: "draining", "starting",
// or "name: error" of the first failing check.
func (r *Readiness) Ready() (bool, string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	switch {
	case r.draining:
		return false, reasonDraining
	case !r.started:
		return false, reasonNotStarted
	}
	for _, c := range r.checks {
		switch {
		case !c.ran:
			return false, c.name + ": not checked yet"
		case c.err != nil:
			reason := c.name + ": " + c.err.Error()
			if len(reason) > maxReasonLen {
				reason = reason[:maxReasonLen]
			}
			return false, reason
		}
	}
	return true, ""
}

// runChecks runs every check once, one after the other, and logs the transitions.
func (r *Readiness) runChecks(ctx context.Context) {
	r.mu.RLock()
	checks := append([]*check(nil), r.checks...)
	r.mu.RUnlock()
	for _, c := range checks {
		if ctx.Err() != nil {
			return
		}
		err := r.runOne(ctx, c.fn)
		if err != nil && c.name == StorageCheckName {
			r.metrics.StorageError(storagePingErrorOpName)
		}
		r.mu.Lock()
		wasRan, wasErr := c.ran, c.err
		c.ran, c.err = true, err
		r.mu.Unlock()
		switch {
		case err != nil && (!wasRan || wasErr == nil):
			r.log.Warn("readiness check failed", "check", c.name, "error", err)
		case err == nil && wasRan && wasErr != nil:
			r.log.Info("readiness check recovered", "check", c.name)
		}
	}
}

// runOne runs fn under the timeout; a panicking check counts as failing rather than ending the process.
func (r *Readiness) runOne(ctx context.Context, fn CheckFunc) (err error) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("check panicked: %v", p)
		}
	}()
	return fn(cctx)
}

// publish mirrors the current state into actas_ready.
func (r *Readiness) publish() {
	ok, _ := r.Ready()
	r.metrics.setReady(ok)
}
