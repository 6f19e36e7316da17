package exchange

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/policy"
	"github.com/actas-dev/actas/storage"
)

// TestConsentTransitions walks the state machine on each backend: pending → approved | declined
// | expired | withdrawn; approved → used | revoked | expired; used → revoked.
func TestConsentTransitions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			cases := []struct {
				name string
				run  func(t *testing.T, f *consentFixture)
			}{
				{"ok/request-approve", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					if r.State != ConsentPending || !consentValidID(r.ID) || r.DurationSeconds != 3600 ||
						!r.ExpiresAt.Equal(r.CreatedAt.Add(DefaultConsentRequestTTL)) || r.AgentName != "u-sam" {
						t.Fatalf("request %+v", r)
					}
					f.clock.Advance(10 * time.Minute)
					a, err := f.svc.Approve(ctx, r.ID, "u-bob", 0)
					if err != nil || a.State != ConsentApproved || !a.ExpiresAt.Equal(a.DecidedAt.Add(time.Hour)) {
						t.Fatalf("approve: %+v %v", a, err)
					}
					if got, err := f.svc.Get(ctx, r.ID); err != nil || got.State != ConsentApproved {
						t.Fatalf("stored: %+v %v", got, err)
					}
					// The pending slot is free again: a new request for the same target is accepted.
					if r2 := f.request("u-sam", "u-bob"); r2.ID == r.ID {
						t.Fatal("same id")
					}
					if ev := f.events(); !slices.Equal(ev, []string{EventConsentRequested, EventConsentApproved, EventConsentRequested}) {
						t.Fatalf("events %v", ev)
					}
					e := f.audit.events[1]
					if e.Actor != "u-bob" || e.Target != "u-bob" || e.ConsentID != r.ID || e.Decision != "allow" || e.Reason == "" {
						t.Fatalf("approved event %+v", e)
					}
				}},
				{"fail/second-pending", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					_, err := f.svc.Request(ctx, NewAccessRequest{Agent: subjectFor("u-sam"), Target: "u-bob", Reason: "another reason here"})
					var pe *PendingRequestError
					if !errors.As(err, &pe) || pe.ID != r.ID || !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("got %v", err)
					}
					// Another agent may ask the same target, and the agent may ask another target.
					f.request("u-ada", "u-bob")
					f.request("u-sam", "u-alice")
				}},
				{"fail/approve-withdrawn", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					if w, err := f.svc.Withdraw(ctx, r.ID, "u-sam"); err != nil || w.State != ConsentWithdrawn || w.EndedBy != "u-sam" {
						t.Fatalf("withdraw: %+v %v", w, err)
					}
					_, err := f.svc.Approve(ctx, r.ID, "u-bob", 0)
					var se *ConsentStateError
					if !errors.As(err, &se) || se.State != ConsentWithdrawn || !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("got %v", err)
					}
				}},
				{"fail/withdraw-approved", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					if _, err := f.svc.Approve(ctx, r.ID, "u-bob", 0); err != nil {
						t.Fatal(err)
					}
					if _, err := f.svc.Withdraw(ctx, r.ID, "u-sam"); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("got %v", err)
					}
				}},
				{"fail/decline-twice", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					if d, err := f.svc.Decline(ctx, r.ID, "u-bob"); err != nil || d.State != ConsentDeclined {
						t.Fatalf("decline: %+v %v", d, err)
					}
					if _, err := f.svc.Decline(ctx, r.ID, "u-bob"); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("got %v", err)
					}
					if _, err := f.svc.Revoke(ctx, r.ID, "u-bob"); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("revoke declined: %v", err)
					}
				}},
				{"fail/not-yours", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					for name, err := range map[string]error{
						"approve by another user": second(f.svc.Approve(ctx, r.ID, "u-alice", 0)),
						"approve by the agent":    second(f.svc.Approve(ctx, r.ID, "u-sam", 0)),
						"decline by another user": second(f.svc.Decline(ctx, r.ID, "u-alice")),
						"withdraw by the target":  second(f.svc.Withdraw(ctx, r.ID, "u-bob")),
						"withdraw by other agent": second(f.svc.Withdraw(ctx, r.ID, "u-ada")),
						"malformed id":            second(f.svc.Approve(ctx, "../x", "u-bob", 0)),
						"unknown id":              second(f.svc.Approve(ctx, consentNewID(), "u-bob", 0)),
					} {
						if !errors.Is(err, ErrConsentNotFound) {
							t.Errorf("%s: %v", name, err)
						}
					}
				}},
				{"ok/pending-expires", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					f.clock.Advance(DefaultConsentRequestTTL + time.Second)
					for range 2 {
						if g, err := f.svc.Get(ctx, r.ID); err != nil || g.State != ConsentExpired || !g.EndedAt.Equal(r.ExpiresAt) {
							t.Fatalf("get: %+v %v", g, err)
						}
					}
					if _, err := f.svc.Approve(ctx, r.ID, "u-bob", 0); !errors.Is(err, ErrConsentConflict) {
						t.Fatalf("approve expired: %v", err)
					}
					f.request("u-sam", "u-bob") // the lock was released with the expiry
					if n := countOf(f.events(), EventConsentExpired); n != 1 {
						t.Fatalf("%d expired events: %v", n, f.events())
					}
				}},
				{"ok/approved-expires-unused", func(t *testing.T, f *consentFixture) {
					r := f.request("u-sam", "u-bob")
					if _, err := f.svc.Approve(ctx, r.ID, "u-bob", 20*time.Minute); err != nil {
						t.Fatal(err)
					}
					f.clock.Advance(20*time.Minute + time.Second)
					if _, err := f.svc.Use(ctx, "u-sam", "u-bob", r.Reason, r.Ticket); !errors.Is(err, ErrNoConsent) {
						t.Fatalf("use expired grant: %v", err)
					}
					if g, _ := f.svc.Get(ctx, r.ID); g.State != ConsentExpired {
						t.Fatalf("state %s", g.State)
					}
				}},
				{"ok/sweep", func(t *testing.T, f *consentFixture) {
					f.request("u-sam", "u-bob")
					f.request("u-sam", "u-alice")
					r3 := f.request("u-ada", "u-bob")
					if _, err := f.svc.Decline(ctx, r3.ID, "u-bob"); err != nil {
						t.Fatal(err)
					}
					if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
						t.Fatalf("early sweep: %d %v", n, err)
					}
					f.clock.Advance(DefaultConsentRequestTTL)
					if n, err := f.svc.Sweep(ctx); err != nil || n != 2 {
						t.Fatalf("sweep: %d %v", n, err)
					}
					if n, err := f.svc.Sweep(ctx); err != nil || n != 0 {
						t.Fatalf("second sweep: %d %v", n, err)
					}
					if open, _ := f.store.IndexMembers(ctx, kindConsentOpen, consentOpenID); len(open) != 0 {
						t.Fatalf("open index %v", open)
					}
					if n := countOf(f.events(), EventConsentExpired); n != 2 {
						t.Fatalf("%d expired events", n)
					}
				}},
				{"ok/durations", func(t *testing.T, f *consentFixture) {
					r, err := f.svc.Request(ctx, NewAccessRequest{Agent: subjectFor("u-sam"), Target: "u-bob",
						Reason: "a long investigation", Duration: 5 * time.Hour})
					if err != nil || r.DurationSeconds != 3600 {
						t.Fatalf("capped: %+v %v", r, err)
					}
					a, err := f.svc.Approve(ctx, r.ID, "u-bob", 90*time.Second)
					if err != nil || a.DurationSeconds != 90 || !a.ExpiresAt.Equal(a.DecidedAt.Add(90*time.Second)) {
						t.Fatalf("shortened: %+v %v", a, err)
					}
				}},
				{"fail/input", func(t *testing.T, f *consentFixture) {
					for name, in := range map[string]NewAccessRequest{
						"no reason":      {Target: "u-bob", Reason: "  "},
						"no target":      {Reason: "valid reason"},
						"self":           {Target: "u-sam", Reason: "valid reason"},
						"control char":   {Target: "u-bob", Reason: "valid\x1b[31m reason"},
						"bidi override":  {Target: "u-bob", Reason: "valid \u202e reason"},
						"long reason":    {Target: "u-bob", Reason: strings.Repeat("r", MaxReasonSize+1)},
						"long ticket":    {Target: "u-bob", Reason: "valid reason", Ticket: strings.Repeat("t", MaxTicketSize+1)},
						"short duration": {Target: "u-bob", Reason: "valid reason", Duration: 10 * time.Second},
					} {
						in.Agent = subjectFor("u-sam")
						if _, err := f.svc.Request(ctx, in); !errors.Is(err, ErrConsentInvalid) {
							t.Errorf("%s: %v", name, err)
						}
					}
					_, err := f.svc.Request(ctx, NewAccessRequest{Agent: subjectFor("u-sam"), Target: "u-nobody", Reason: "valid reason"})
					if !errors.Is(err, errUnknownTarget) {
						t.Errorf("unknown target: %v", err)
					}
					if len(f.events()) != 0 {
						t.Errorf("events for refused requests: %v", f.events())
					}
				}},
				{"ok/stale-pending-lock", func(t *testing.T, f *consentFixture) {
					// A crash left the lock without its request: the next request takes it over.
					if err := f.store.CreateRecord(ctx, kindConsentPending, consentPair("u-sam", "u-bob"),
						pendingLock{ID: consentNewID()}, time.Hour); err != nil {
						t.Fatal(err)
					}
					f.request("u-sam", "u-bob")
				}},
				{"ok/list", func(t *testing.T, f *consentFixture) {
					r1 := f.request("u-sam", "u-bob")
					f.clock.Advance(time.Second)
					r2 := f.request("u-ada", "u-bob")
					f.request("u-sam", "u-alice")
					got, err := f.svc.ForTarget(ctx, "u-bob")
					if err != nil || len(got) != 2 || got[0].ID != r2.ID || got[1].ID != r1.ID {
						t.Fatalf("for target: %v %v", got, err)
					}
					mine, err := f.svc.ForAgent(ctx, "u-sam")
					if err != nil || len(mine) != 2 {
						t.Fatalf("for agent: %v %v", mine, err)
					}
				}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.run(t, newConsentFixture(t, b.kv(t)))
				})
			}
		})
	}
}

// TestConsentRequestPolicy: with a policy, an agent may only ask users it could impersonate.
func TestConsentRequestPolicy(t *testing.T) {
	t.Parallel()
	engine, err := policy.New(permissiveRules())
	if err != nil {
		t.Fatal(err)
	}
	f := newConsentFixture(t, consentBackends[0].kv(t), func(o *ConsentOptions) { o.Policy = engine })
	sam := policy.Subject{ID: "u-sam", Roles: []string{"support"}, Tenant: "acme", AMR: []string{"pwd", "otp"},
		AuthTime: time.Now().Add(-time.Minute)}
	ctx := context.Background()
	cases := []struct {
		name, target string
		agent        policy.Subject
		code         string
	}{
		{"ok/support-asks-customer", "u-bob", sam, ""},
		{"fail/opted-out", "u-dave", sam, string(policy.CodeTargetOptedOut)},
		{"fail/admin-target", "u-ada", sam, string(policy.CodeRoleNotAllowed)},
		{"fail/customer-asks", "u-alice", policy.Subject{ID: "u-bob", Roles: []string{"customer"}, Tenant: "acme"}, string(policy.CodeNotImpersonator)},
		// The exchange will have to repeat the request's reason: one it would refuse is refused now,
		// before the customer is asked.
		{"fail/reason-too-short", "u-alice", sam, string(policy.CodeReasonRequired)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reason := "customer called about order 42"
			if tc.code == string(policy.CodeReasonRequired) {
				reason = "short"
			}
			_, err := f.svc.Request(ctx, NewAccessRequest{Agent: tc.agent, Target: tc.target, Reason: reason})
			var de *ConsentDeniedError
			switch {
			case tc.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code != "" && (!errors.As(err, &de) || de.Code != tc.code):
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func countOf(list []string, v string) int {
	n := 0
	for _, s := range list {
		if s == v {
			n++
		}
	}
	return n
}

// TestConsentOnePendingConcurrently: requests made at once by one agent for one target leave
// exactly one pending request; the others are told which one is pending.
func TestConsentOnePendingConcurrently(t *testing.T) {
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			for round := range 10 {
				f := newConsentFixture(t, b.kv(t))
				var wg sync.WaitGroup
				var mu sync.Mutex
				made, refused := 0, 0
				start := make(chan struct{})
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						_, err := f.svc.Request(context.Background(), NewAccessRequest{Agent: subjectFor("u-sam"),
							Target: "u-bob", Reason: "customer called about order 42"})
						var pending *PendingRequestError
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							made++
						case errors.As(err, &pending), errors.Is(err, storage.ErrConflict):
							refused++
						default:
							t.Errorf("round %d: %v", round, err)
						}
					}()
				}
				close(start)
				wg.Wait()
				all, err := f.svc.ForTarget(context.Background(), "u-bob")
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, r := range all {
					if r.State == ConsentPending {
						n++
					}
				}
				if made != 1 || n != 1 || refused != 7 {
					t.Fatalf("round %d: %d made, %d refused, %d pending; want 1, 7, 1", round, made, refused, n)
				}
			}
		})
	}
}

// TestConsentApprovalNeedsAudit: an approval whose event cannot be stored does not stand: the
// request stays pending (its lock held), and approving again once the trail is back works.
func TestConsentApprovalNeedsAudit(t *testing.T) {
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			f := newConsentFixture(t, b.kv(t))
			ctx := context.Background()
			req, err := f.svc.Request(ctx, NewAccessRequest{Agent: subjectFor("u-sam"), Target: "u-bob", Reason: "customer called about order 42"})
			if err != nil {
				t.Fatal(err)
			}
			down := EventConsentApproved
			f.audit.failType.Store(&down)
			if _, err := f.svc.Approve(ctx, req.ID, "u-bob", 0); !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("approve with the trail down: %v, want an unavailable error", err)
			}
			if cur, err := f.svc.Get(ctx, req.ID); err != nil || cur.State != ConsentPending || !cur.DecidedAt.IsZero() {
				t.Fatalf("after the failed approval: %+v (%v), want it pending as before", cur, err)
			}
			var pending *PendingRequestError
			if _, err := f.svc.Request(ctx, NewAccessRequest{Agent: subjectFor("u-sam"), Target: "u-bob", Reason: "again"}); !errors.As(err, &pending) || pending.ID != req.ID {
				t.Fatalf("a new request while the first is pending again: %v", err)
			}
			f.audit.failType.Store(nil)
			if r, err := f.svc.Approve(ctx, req.ID, "u-bob", 0); err != nil || r.State != ConsentApproved {
				t.Fatalf("approve with the trail back: %v %v", r, err)
			}
		})
	}
}

// TestConsentListKeepsLiveGrants: lists are capped (ListLimit, newest first), but a flood of finished
// requests (an agent requesting and withdrawing in a loop) never pushes an approved grant out of the
// customer's or the agent's list: the customer must be able to find it to revoke it.
func TestConsentListKeepsLiveGrants(t *testing.T) {
	f := newConsentFixture(t, consentBackends[0].kv(t), func(o *ConsentOptions) { o.ListLimit = 10 })
	ctx := context.Background()
	r := f.request("u-sam", "u-alice")
	if _, err := f.svc.Approve(ctx, r.ID, "u-alice", 0); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		f.clock.Advance(time.Millisecond)
		q := f.request("u-sam", "u-alice")
		if _, err := f.svc.Withdraw(ctx, q.ID, "u-sam"); err != nil {
			t.Fatal(err)
		}
	}
	for name, list := range map[string]func(context.Context, string) ([]*AccessRequest, error){
		"u-alice": f.svc.ForTarget, "u-sam": f.svc.ForAgent,
	} {
		all, err := list(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 10 {
			t.Fatalf("%s: %d requests listed, want the cap of 10", name, len(all))
		}
		if !slices.ContainsFunc(all, func(q *AccessRequest) bool { return q.ID == r.ID && q.State == ConsentApproved }) {
			t.Fatalf("%s: the approved grant is not listed among %d requests", name, len(all))
		}
		if all[0].CreatedAt.Before(all[len(all)-1].CreatedAt) {
			t.Fatalf("%s: not newest first", name)
		}
	}
}

// TestConsentPairIndexHoldsLiveRequests: a request that can no longer be used (withdrawn,
// declined, expired, revoked) leaves the agent–target index every consent-gated exchange reads, so
// an agent's request/withdraw loop does not make each of the pair's exchanges read its whole
// history; the lists keep showing it.
func TestConsentPairIndexHoldsLiveRequests(t *testing.T) {
	f := newConsentFixture(t, consentBackends[0].kv(t))
	ctx := context.Background()
	for range 25 {
		f.clock.Advance(time.Millisecond)
		q := f.request("u-sam", "u-alice")
		if _, err := f.svc.Withdraw(ctx, q.ID, "u-sam"); err != nil {
			t.Fatal(err)
		}
	}
	approved := f.request("u-sam", "u-alice")
	if _, err := f.svc.Approve(ctx, approved.ID, "u-alice", 0); err != nil {
		t.Fatal(err)
	}
	members, err := f.store.IndexMembers(ctx, kindConsentPair, consentPair("u-sam", "u-alice"))
	if err != nil || !slices.Equal(members, []string{approved.ID}) {
		t.Fatalf("pair index = %v, %v; want only the approved request", members, err)
	}
	if all, _ := f.svc.ForTarget(ctx, "u-alice"); len(all) != 26 {
		t.Fatalf("the customer's list has %d requests, want all 26", len(all))
	}
}
