package exchange

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
)

// TestRepEnd covers every way a session ends, on every backend.
func TestRepEnd(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("ok/stop-is-idempotent", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				rec, changed, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor)
				if err != nil || !changed || rec.EndReason != EndStoppedByActor || rec.EndedBy != "u-sam" || rec.EndedAt.IsZero() {
					t.Fatalf("stop: %+v %v %v", rec, changed, err)
				}
				again, changed, err := e.svc.Stop(ctx, rep.ID, "u-ada", EndStoppedByAdmin)
				if err != nil || changed || again.EndReason != EndStoppedByActor || !again.EndedAt.Equal(rec.EndedAt) {
					t.Fatalf("second stop: %+v %v %v", again, changed, err)
				}
				if ev := e.audit.ofType(EventRepresentationStopped); len(ev) != 1 || ev[0].Actor != "u-sam" ||
					ev[0].Target != "u-bob" || ev[0].ReasonCode != EndStoppedByActor {
					t.Fatalf("audit %+v", ev)
				}
				if e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatal("the lock is still taken")
				}
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, ErrRepresentationEnded) {
					t.Fatalf("active after stop: %v", err)
				}
				if ok, _ := e.svc.IsRepresented(ctx, "u-bob"); ok {
					t.Fatal("u-bob is still represented")
				}
			})

			t.Run("fail/stop-unknown", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				for _, id := range []string{"AAAAAAAAAAAAAAAAAAAAAA", "not-an-id", ""} {
					if _, _, err := e.svc.Stop(ctx, id, "u-sam", EndStoppedByActor); !errors.Is(err, ErrRepresentationNotFound) {
						t.Errorf("%q: %v", id, err)
					}
					if err := e.svc.Active(ctx, id); !errors.Is(err, ErrRepresentationEnded) {
						t.Errorf("active %q: %v", id, err)
					}
				}
			})

			t.Run("ok/abort", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if err := e.svc.Abort(ctx, rep.ID); err != nil {
					t.Fatal(err)
				}
				rec, _ := e.svc.Get(ctx, rep.ID)
				if rec.EndReason != EndAborted || e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatalf("after abort: %+v", rec)
				}
				if err := e.svc.Abort(ctx, "AAAAAAAAAAAAAAAAAAAAAA"); err != nil {
					t.Fatalf("abort of an unknown id: %v", err)
				}
			})

			t.Run("ok/expiry", func(t *testing.T) {
				var e *repEnv
				if b.name == "memory" {
					e = newRepEnv(t, b.kv, repClocked())
				} else {
					e = newRepEnv(t, b.kv)
				}
				req := repStartReq("u-sam", "u-bob")
				req.TTL = 1200 * time.Millisecond
				rep, err := e.svc.Start(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if err := e.svc.Active(ctx, rep.ID); err != nil {
					t.Fatal(err)
				}
				if b.name == "memory" {
					e.clock.Advance(1300 * time.Millisecond)
				} else {
					time.Sleep(1300 * time.Millisecond) // Redis expires the lock on its own clock
				}
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, ErrRepresentationEnded) || !strings.Contains(err.Error(), EndExpired) {
					t.Fatalf("active after expiry: %v", err)
				}
				rec, err := e.svc.Get(ctx, rep.ID)
				if err != nil || rec.EndReason != EndExpired || !rec.EndedAt.Equal(rec.ExpiresAt) {
					t.Fatalf("record after expiry: %+v %v", rec, err)
				}
				if len(e.audit.ofType(EventRepresentationExpired)) != 1 {
					t.Fatalf("expired events %+v", e.audit.ofType(EventRepresentationExpired))
				}
				if e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatal("the lock outlived the session")
				}
				next, err := e.svc.Start(ctx, repStartReq("u-sam", "u-alice"))
				if err != nil || next.Joined {
					t.Fatalf("start after expiry: %+v %v", next, err)
				}
			})

			t.Run("ok/actor-disabled-ends-at-next-use", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				u, _ := e.store.GetUser(ctx, "u-sam")
				u.Disabled = true
				if err := e.store.UpsertUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, ErrRepresentationEnded) {
					t.Fatalf("active: %v", err)
				}
				rec, _ := e.svc.Get(ctx, rep.ID)
				if rec.EndReason != EndActorDisabled || e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatalf("record %+v", rec)
				}
				if ev := e.audit.ofType(EventRepresentationCascaded); len(ev) != 1 || ev[0].ReasonCode != EndActorDisabled {
					t.Fatalf("audit %+v", ev)
				}
			})

			t.Run("ok/actor-role-revoked-ends-at-next-use", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				u, _ := e.store.GetUser(ctx, "u-sam")
				u.Roles = []string{"customer"}
				if err := e.store.UpsertUser(ctx, u); err != nil {
					t.Fatal(err)
				}
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, ErrRepresentationEnded) {
					t.Fatalf("active: %v", err)
				}
				if rec, _ := e.svc.Get(ctx, rep.ID); rec.EndReason != EndActorRoleLost {
					t.Fatalf("record %+v", rec)
				}
			})

			t.Run("ok/actor-deleted-ends-at-next-use", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sky", "u-bob"))
				if err := e.store.DeleteUser(ctx, "u-sky"); err != nil {
					t.Fatal(err)
				}
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, ErrRepresentationEnded) {
					t.Fatalf("active: %v", err)
				}
				if rec, _ := e.svc.Get(ctx, rep.ID); rec.EndReason != EndActorDisabled {
					t.Fatalf("record %+v", rec)
				}
			})

			t.Run("ok/actor-logout-cascade", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				ls, err := login.New(login.Options{Store: e.store, Issuer: repIssuer})
				if err != nil {
					t.Fatal(err)
				}
				ls.OnLoginSessionEnded(e.svc.OnLoginSessionEnded)
				now := time.Now()
				if err := e.store.CreateLoginSession(ctx, &storage.LoginSession{ID: "login-session-of-sam-0123456789", Subject: "u-sam",
					AuthTime: now, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}, time.Hour); err != nil {
					t.Fatal(err)
				}
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				other, _ := e.svc.Start(ctx, repStartReq("u-sky", "u-alice"))
				if err := ls.EndAllSessions(ctx, "u-sam"); err != nil { // what a logout of sam does
					t.Fatal(err)
				}
				rec, _ := e.svc.Get(ctx, rep.ID)
				if rec.EndReason != EndActorLogout || rec.EndedBy != "u-sam" {
					t.Fatalf("record %+v", rec)
				}
				if err := e.svc.Active(ctx, other.ID); err != nil {
					t.Fatalf("another agent's session ended too: %v", err)
				}
				// A logout without an active representation is fine.
				e.svc.OnLoginSessionEnded(ctx, "u-ada", "x")
			})

			t.Run("ok/sign-out-everywhere", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				a, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				c, _ := e.svc.Start(ctx, repStartReq("u-sky", "u-bob"))
				other, _ := e.svc.Start(ctx, repStartReq("u-ada", "u-alice"))
				ended, err := e.svc.SignOutEverywhere(ctx, "u-bob")
				if err != nil {
					t.Fatal(err)
				}
				slices.Sort(ended)
				want := []string{a.ID, c.ID}
				slices.Sort(want)
				if !slices.Equal(ended, want) {
					t.Fatalf("ended %v, want %v", ended, want)
				}
				for _, id := range want {
					if rec, _ := e.svc.Get(ctx, id); rec.EndReason != EndTargetSignOut || rec.EndedBy != "u-bob" {
						t.Fatalf("record %+v", rec)
					}
				}
				if err := e.svc.Active(ctx, other.ID); err != nil {
					t.Fatalf("another target's session: %v", err)
				}
				if got := e.logins.calls(); !slices.Equal(got, []string{"u-bob"}) {
					t.Fatalf("login sessions ended for %v", got)
				}
			})

			t.Run("ok/single-session-ends-the-targets-login-sessions", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repWith(func(o *ServiceOptions) { o.SingleSession = true }))
				rep, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if err != nil {
					t.Fatal(err)
				}
				if got := e.logins.calls(); !slices.Equal(got, []string{"u-bob"}) {
					t.Fatalf("login sessions ended for %v", got)
				}
				// Joining does not sign the target out again.
				if _, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob")); err != nil || len(e.logins.calls()) != 1 {
					t.Fatalf("join: %v, calls %v", err, e.logins.calls())
				}
				_ = rep
			})

			t.Run("fail/single-session-when-sign-out-fails", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repWith(func(o *ServiceOptions) { o.SingleSession = true }))
				e.logins.err = storage.ErrUnavailable
				if _, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob")); !errors.Is(err, storage.ErrUnavailable) {
					t.Fatalf("start: %v", err)
				}
				if e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatal("the lock was kept")
				}
				if ok, _ := e.svc.IsRepresented(ctx, "u-bob"); ok {
					t.Fatal("u-bob is represented")
				}
			})

			t.Run("fail/outage-during-stop-keeps-the-pair", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				e.kv.setFail(func(op, _ string) bool { return op == "cas" })
				if _, _, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); !errors.Is(err, storage.ErrUnavailable) {
					t.Fatalf("stop: %v", err)
				}
				e.kv.setFail(func(string, string) bool { return true })
				if err := e.svc.Active(ctx, rep.ID); !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, ErrRepresentationEnded) {
					t.Fatalf("active during an outage must be an outage, not an end: %v", err)
				}
				if _, err := e.svc.IsRepresented(ctx, "u-bob"); !errors.Is(err, storage.ErrUnavailable) {
					t.Fatalf("IsRepresented during an outage: %v", err)
				}
				e.kv.setFail(nil)
				e.checkLockInvariant("u-sam", rep.ID)
				if err := e.svc.Active(ctx, rep.ID); err != nil {
					t.Fatalf("the failed stop ended the session: %v", err)
				}
				if _, changed, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); err != nil || !changed {
					t.Fatalf("retry: %v %v", changed, err)
				}
				e.checkLockInvariant("u-sam", rep.ID)
			})
		})
	}
}

// TestRepStopsDoNotQueueUp: the second revocation sweep of each stop waits for its delay on a timer,
// not in a goroutine holding a background slot, so stops at any rate leave no growing backlog (a
// backlog that a stop's back-channel logout would wait behind); Close cancels the sweeps still
// waiting.
func TestRepStopsDoNotQueueUp(t *testing.T) {
	e := newRepEnv(t, repBackends[0].kv, repWith(func(o *ServiceOptions) { o.Resweep = time.Hour }))
	ctx := context.Background()
	before := runtime.NumGoroutine()
	for range 300 {
		rep, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); err != nil {
			t.Fatal(err)
		}
	}
	// A goroutine per pending sweep would be 300 or more; other tests' stragglers (deliveries
	// retrying, servers closing) may add a few dozen in the same process.
	if n := runtime.NumGoroutine() - before; n > 150 {
		t.Fatalf("%d goroutines more after 300 stops whose sweeps are an hour away", n)
	}
	wantCloseAtDeadline(t, e.svc, "the pending sweeps' delay")
}

// wantCloseAtDeadline: Close with a 50 ms deadline ends with that deadline, instead of waiting for
// what (an hour away here).
func wantCloseAtDeadline(t *testing.T, svc *Service, what string) {
	t.Helper()
	closeCtx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- svc.Close(closeCtx) }()
	select {
	case err := <-closed:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Close: %v, want its deadline", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for " + what)
	}
}

// TestRepCloseWhileStopping: stops still running while the service closes (a request the server's
// drain gave up on) schedule nothing once Close has begun, so Close ends at its deadline instead of
// waiting for a re-sweep scheduled behind its back (an hour here), and its WaitGroup is never
// re-armed under it (a panic before).
func TestRepCloseWhileStopping(t *testing.T) {
	e := newRepEnv(t, repBackends[0].kv, repWith(func(o *ServiceOptions) { o.Resweep = time.Hour }))
	ctx := context.Background()
	done := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if rep, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob")); err == nil {
				_, _, _ = e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor)
			}
		}
	}()
	time.Sleep(20 * time.Millisecond)
	wantCloseAtDeadline(t, e.svc, "a re-sweep scheduled while it was closing")
	close(stop)
	<-done
}
