package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// TestRepStart covers the join/refuse rules on every backend.
func TestRepStart(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("ok/new-session", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				before := time.Now()
				rep, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if err != nil {
					t.Fatal(err)
				}
				if !repValidID(rep.ID) || rep.Joined || rep.StartedAt.Before(before.Add(-time.Second)) ||
					rep.ExpiresAt.Sub(rep.StartedAt) != time.Hour {
					t.Fatalf("representation %+v", rep)
				}
				rec, err := e.svc.Get(ctx, rep.ID)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Actor != "u-sam" || rec.Target != "u-bob" || rec.ClientID != "console" || rec.Reason != repReason ||
					rec.Ticket != "SUP-42" || !rec.EndedAt.IsZero() {
					t.Fatalf("record %+v", rec)
				}
				if got := string(e.rawKV(repLockKey("u-sam"))); got != rep.ID {
					t.Fatalf("lock %q, want %q", got, rep.ID)
				}
				if ev := e.audit.ofType(EventRepresentationStarted); len(ev) != 1 || ev[0].RepresentationID != rep.ID {
					t.Fatalf("audit %+v", ev)
				}
				if ok, err := e.svc.IsRepresented(ctx, "u-bob"); err != nil || !ok {
					t.Fatalf("IsRepresented(u-bob) = %v, %v", ok, err)
				}
				if ok, err := e.svc.IsRepresented(ctx, "u-sam"); err != nil || ok {
					t.Fatalf("IsRepresented(u-sam) = %v, %v", ok, err)
				}
			})

			t.Run("ok/join-same-target", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				first, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if err != nil {
					t.Fatal(err)
				}
				req := repStartReq("u-sam", "u-bob")
				req.ClientID = "rp"
				second, err := e.svc.Start(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				if !second.Joined || second.ID != first.ID || !second.ExpiresAt.Equal(first.ExpiresAt) {
					t.Fatalf("second %+v, first %+v", second, first)
				}
				rec, _ := e.svc.Get(ctx, first.ID)
				if !rec.hasClient("rp") || !rec.hasClient("console") {
					t.Fatalf("clients %q %q", rec.ClientID, rec.Clients)
				}
				if ev := e.audit.ofType(EventRepresentationJoined); len(ev) != 1 {
					t.Fatalf("joined events %+v", ev)
				}
			})

			t.Run("fail/join-never-widens", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				req := repStartReq("u-sam", "u-bob")
				req.Scopes = []string{"openid", "profile"}
				first, err := e.svc.Start(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				narrower := repStartReq("u-sam", "u-bob")
				narrower.Scopes, narrower.ClientID = []string{"profile"}, "rp"
				if j, err := e.svc.Start(ctx, narrower); err != nil || !j.Joined || j.ID != first.ID {
					t.Fatalf("join within the scopes: %+v %v", j, err)
				}
				wider := repStartReq("u-sam", "u-bob")
				wider.Scopes, wider.ClientID = []string{"openid", "offline_access"}, "mobile"
				_, err = e.svc.Start(ctx, wider)
				var widens *JoinWidensError
				if !errors.As(err, &widens) || widens.ID != first.ID || widens.Scope != "offline_access" {
					t.Fatalf("err %v, want JoinWidensError naming offline_access", err)
				}
				rec, _ := e.svc.Get(ctx, first.ID)
				if rec.hasClient("mobile") || !slices.Equal(rec.Scopes, []string{"openid", "profile"}) {
					t.Fatalf("a refused join changed the session: clients %q scopes %q", rec.Clients, rec.Scopes)
				}
				if ev := e.audit.ofType(EventRepresentationJoined); len(ev) != 1 {
					t.Fatalf("joined events %+v (the refused join is not one)", ev)
				}
				e.checkLockInvariant("u-sam", first.ID)
			})

			t.Run("fail/other-target-names-the-session", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				first, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if err != nil {
					t.Fatal(err)
				}
				_, err = e.svc.Start(ctx, repStartReq("u-sam", "u-alice"))
				var active *ActiveRepresentationError
				if !errors.As(err, &active) || !errors.Is(err, ErrActiveRepresentation) {
					t.Fatalf("err %v", err)
				}
				if active.ID != first.ID || active.Target != "u-bob" || !active.Since.Equal(first.StartedAt) {
					t.Fatalf("names %+v, want %+v", active, first)
				}
				if ok, _ := e.svc.IsRepresented(ctx, "u-alice"); ok {
					t.Fatal("the refused target is represented")
				}
				e.checkLockInvariant("u-sam", first.ID)
			})

			t.Run("ok/after-stop-a-new-session", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				first, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				if _, _, err := e.svc.Stop(ctx, first.ID, "u-sam", EndStoppedByActor); err != nil {
					t.Fatal(err)
				}
				second, err := e.svc.Start(ctx, repStartReq("u-sam", "u-alice"))
				if err != nil || second.Joined || second.ID == first.ID {
					t.Fatalf("second %+v %v", second, err)
				}
				e.checkLockInvariant("u-sam", first.ID, second.ID)
			})

			t.Run("ok/stale-lock-of-an-ended-session-is-released", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				first, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				// A crash between marking the session ended and releasing the lock.
				e.kv.setFail(func(op, key string) bool { return op == "cad" })
				if _, _, err := e.svc.Stop(ctx, first.ID, "u-sam", EndStoppedByActor); !errors.Is(err, storage.ErrUnavailable) {
					t.Fatalf("stop: %v", err)
				}
				e.kv.setFail(nil)
				if string(e.rawKV(repLockKey("u-sam"))) != first.ID {
					t.Fatal("the lock should still be there")
				}
				// The end was recorded and told, even though the release failed.
				if ev := e.audit.ofType(EventRepresentationStopped); len(ev) != 1 {
					t.Fatalf("audit %+v", ev)
				}
				second, err := e.svc.Start(ctx, repStartReq("u-sam", "u-alice"))
				if err != nil || second.ID == first.ID {
					t.Fatalf("second %+v %v", second, err)
				}
				e.checkLockInvariant("u-sam", first.ID, second.ID)
			})

			t.Run("ok/lock-without-its-session-is-released", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				first, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
				// The session record vanished (an operator deleted it): the lock must not lock
				// the agent out.
				if err := e.base.Delete(ctx, repSessionKey("u-sam", first.ID)); err != nil {
					t.Fatal(err)
				}
				second, err := e.svc.Start(ctx, repStartReq("u-sam", "u-alice"))
				if err != nil || second.ID == first.ID || second.Joined {
					t.Fatalf("second %+v %v", second, err)
				}
			})

			t.Run("fail/invalid-requests", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				for name, req := range map[string]StartRequest{
					"no-actor":  {Target: "u-bob", TTL: time.Hour},
					"no-target": {Actor: "u-sam", TTL: time.Hour},
					"no-ttl":    {Actor: "u-sam", Target: "u-bob"},
					"self":      {Actor: "u-sam", Target: "u-sam", TTL: time.Hour},
				} {
					if _, err := e.svc.Start(ctx, req); err == nil {
						t.Errorf("%s: started", name)
					}
				}
				if e.rawKV(repLockKey("u-sam")) != nil {
					t.Fatal("a lock was taken")
				}
			})

			t.Run("ok/ttl-capped", func(t *testing.T) {
				e := newRepEnv(t, b.kv, repWith(func(o *ServiceOptions) { o.MaxSessionTTL = 10 * time.Minute }))
				req := repStartReq("u-sam", "u-bob")
				req.TTL = 5 * time.Hour
				rep, err := e.svc.Start(ctx, req)
				if err != nil || rep.ExpiresAt.Sub(rep.StartedAt) != 10*time.Minute {
					t.Fatalf("%+v %v", rep, err)
				}
			})

			t.Run("ok/foreign-actor-has-its-own-lock", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				if _, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob")); err != nil {
					t.Fatal(err)
				}
				req := repStartReq("u-sam", "u-alice")
				req.ActorIssuer = "https://idp.example.com"
				rep, err := e.svc.Start(ctx, req)
				if err != nil || rep.Joined {
					t.Fatalf("the same sub at another issuer is another actor: %+v %v", rep, err)
				}
				if err := e.svc.Active(ctx, rep.ID); err != nil {
					t.Fatalf("foreign actor's session: %v", err)
				}
			})
		})
	}
}

// TestRepAtomic checks that a storage failure at any step of Start leaves no lock without its
// session nor the reverse, and answers with an error wrapping storage.ErrUnavailable.
func TestRepAtomic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		fail func(op, key string) bool
	}{
		{"fail/create-all", func(op, _ string) bool { return op == "create-all" }},
		{"fail/pointer", func(op, key string) bool { return op == "set" && strings.HasPrefix(key, "repid:") }},
		{"fail/target-index", func(op, key string) bool { return op == "set-add" && strings.HasPrefix(key, "rep-target:") }},
		{"fail/day-index", func(op, key string) bool { return op == "set-add" && strings.HasPrefix(key, "rep-day:") }},
		{"fail/grants", func(op, key string) bool { return op == "set-add" && strings.Contains(key, "}:g:") }},
		{"fail/create-all-and-cleanup", func(op, _ string) bool {
			return op == "create-all" || op == "delete" || op == "set-remove"
		}},
		{"fail/everything", func(string, string) bool { return true }},
	}
	for _, b := range repBackends {
		for _, stepwise := range []bool{false, true} {
			name := b.name + "/one-step"
			if stepwise {
				name = b.name + "/stepwise" // a backend without storage.WritingCreator
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) {
						ctx := context.Background()
						e := newRepEnv(t, b.kv)
						if stepwise {
							e.svc.wc = nil
						}
						e.kv.setFail(tt.fail)
						req := repStartReq("u-sam", "u-bob")
						req.GrantID = "req-1" // recorded with the session
						_, err := e.svc.Start(ctx, req)
						if !errors.Is(err, storage.ErrUnavailable) {
							t.Fatalf("err %v, want ErrUnavailable", err)
						}
						e.kv.setFail(nil)
						if lock := e.rawKV(repLockKey("u-sam")); lock != nil {
							t.Fatalf("a lock %q was left", lock)
						}
						if ok, err := e.svc.IsRepresented(ctx, "u-bob"); ok || err != nil {
							t.Fatalf("IsRepresented %v %v", ok, err)
						}
						if recs, _, err := e.svc.List(ctx, RepFilter{Actor: "u-sam"}); err != nil || len(recs) != 0 {
							t.Fatalf("list %v %v", recs, err)
						}
						// Nothing half-written blocks the next start.
						rep, err := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
						if err != nil || rep.Joined {
							t.Fatalf("start after the outage: %+v %v", rep, err)
						}
						e.checkLockInvariant("u-sam", rep.ID)
					})
				}
			})
		}
	}
}

// TestRepStartRecordsGrant: a start that opens a session records StartRequest.GrantID with it
// (on a backend with and without storage.WritingCreator); a join does not, and leaves the grant
// to RecordGrant.
func TestRepStartRecordsGrant(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		for _, stepwise := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stepwise=%v", b.name, stepwise), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newRepEnv(t, b.kv)
				if stepwise {
					e.svc.wc = nil
				}
				req := repStartReq("u-sam", "u-bob")
				req.GrantID = "req-1"
				rep, err := e.svc.Start(ctx, req)
				if err != nil || rep.Joined || !rep.GrantRecorded {
					t.Fatalf("start: %+v %v", rep, err)
				}
				req.GrantID = "req-2"
				joined, err := e.svc.Start(ctx, req)
				if err != nil || !joined.Joined || joined.GrantRecorded {
					t.Fatalf("join: %+v %v", joined, err)
				}
				got, err := e.base.SetMembers(ctx, repGrantsKey("u-sam", rep.ID))
				if err != nil || !slices.Equal(got, []string{"req-1"}) {
					t.Fatalf("grants after start and join: %v %v, want [req-1]", got, err)
				}
				// Without a grant id nothing is recorded.
				rep2, err := e.svc.Start(ctx, repStartReq("u-sky", "u-carol"))
				if err != nil || rep2.GrantRecorded {
					t.Fatalf("start without a grant id: %+v %v", rep2, err)
				}
				if got, _ := e.base.SetMembers(ctx, repGrantsKey("u-sky", rep2.ID)); len(got) != 0 {
					t.Fatalf("grants of a start without a grant id: %v", got)
				}
			})
		}
	}
}

// TestRepRecordGrant: grants are recorded only while the session is active.
func TestRepRecordGrant(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newRepEnv(t, b.kv)
			rep, _ := e.svc.Start(ctx, repStartReq("u-sam", "u-bob"))
			if err := e.svc.RecordGrant(ctx, rep.ID, "req-1"); err != nil {
				t.Fatal(err)
			}
			// A second service ("another replica") has no cache: the pointer finds the session.
			other, err := NewService(ServiceOptions{KV: e.kv, Store: e.store, Issuer: repIssuer})
			if err != nil {
				t.Fatal(err)
			}
			if err := other.RecordGrant(ctx, rep.ID, "req-2"); err != nil {
				t.Fatal(err)
			}
			got, _ := e.base.SetMembers(ctx, repGrantsKey("u-sam", rep.ID))
			if len(got) != 2 {
				t.Fatalf("grants %v", got)
			}
			if _, _, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); err != nil {
				t.Fatal(err)
			}
			for name, svc := range map[string]*Service{"same": e.svc, "other": other} {
				if err := svc.RecordGrant(ctx, rep.ID, "req-3"); !errors.Is(err, ErrRepresentationEnded) {
					t.Errorf("%s: after stop: %v", name, err)
				}
			}
			if err := e.svc.RecordGrant(ctx, "AAAAAAAAAAAAAAAAAAAAAA", "req-4"); !errors.Is(err, ErrRepresentationEnded) {
				t.Errorf("unknown session: %v", err)
			}
			if err := e.svc.RecordClient(ctx, rep.ID, "rp"); !errors.Is(err, ErrRepresentationEnded) {
				t.Errorf("record client after stop: %v", err)
			}
		})
	}
}
