package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// TestRepConcurrentStarts: 100 concurrent starts by one actor for 100 targets yield exactly one
// session and one lock; 50 actors × 2 attempts yield exactly 50 (one process; TestRepTwoProcesses
// runs the same across two services on one Redis).
func TestRepConcurrentStarts(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			t.Run("ok/one-actor-100-targets", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				repRaceOneActor(t, []*Service{e.svc}, e)
			})
			t.Run("ok/one-actor-100-joins", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				repRaceJoins(t, []*Service{e.svc})
			})
			t.Run("ok/50-actors-2-attempts", func(t *testing.T) {
				e := newRepEnv(t, b.kv)
				repRaceActors(t, []*Service{e.svc}, e)
			})
		})
	}
}

// repRaceOneActor starts 100 representations of u-sam at once, spread over svcs.
func repRaceOneActor(t *testing.T, svcs []*Service, e *repEnv) {
	t.Helper()
	const n = 100
	ctx := context.Background()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		winners  []Representation
		refusals []*ActiveRepresentationError
		others   []error
	)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rep, err := svcs[i%len(svcs)].Start(ctx, repStartReq("u-sam", fmt.Sprintf("u-target-%03d", i)))
			mu.Lock()
			defer mu.Unlock()
			var active *ActiveRepresentationError
			switch {
			case err == nil:
				winners = append(winners, rep)
			case errors.As(err, &active):
				refusals = append(refusals, active)
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(others) > 0 {
		t.Fatalf("unexpected errors: %v", others)
	}
	if len(winners) != 1 || len(refusals) != n-1 {
		t.Fatalf("%d winners, %d refusals", len(winners), len(refusals))
	}
	for _, r := range refusals {
		if r.ID != winners[0].ID {
			t.Fatalf("a refusal names %s, the winner is %s", r.ID, winners[0].ID)
		}
	}
	if lock := string(e.rawKV(repLockKey("u-sam"))); lock != winners[0].ID {
		t.Fatalf("lock %q, winner %q", lock, winners[0].ID)
	}
	active := true
	recs, _, err := svcs[0].List(ctx, RepFilter{Actor: "u-sam", Active: &active})
	if err != nil || len(recs) != 1 || recs[0].ID != winners[0].ID {
		t.Fatalf("active sessions of u-sam: %v %v", recs, err)
	}
	// The losers' index entries were removed again: only the winner's target is represented.
	represented := 0
	for i := range n {
		if ok, _ := svcs[0].IsRepresented(ctx, fmt.Sprintf("u-target-%03d", i)); ok {
			represented++
		}
	}
	if represented != 1 {
		t.Fatalf("%d targets represented", represented)
	}
}

// repRaceJoins starts 100 representations of the same pair at once: one session, 99 joins.
func repRaceJoins(t *testing.T, svcs []*Service) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	reps := make([]Representation, 100)
	errs := make([]error, 100)
	for i := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = svcs[i%len(svcs)].Start(ctx, repStartReq("u-sam", "u-bob"))
		}()
	}
	wg.Wait()
	created := 0
	for i, r := range reps {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !r.Joined {
			created++
		}
		if r.ID != reps[0].ID {
			t.Fatalf("two sessions: %s and %s", r.ID, reps[0].ID)
		}
	}
	if created != 1 {
		t.Fatalf("%d sessions created", created)
	}
}

// repRaceActors: 50 actors, each starting 2 representations of different targets at once.
func repRaceActors(t *testing.T, svcs []*Service, e *repEnv) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := map[string][]string{}
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			actor := fmt.Sprintf("u-agent-%02d", i/2)
			rep, err := svcs[i%len(svcs)].Start(ctx, repStartReq(actor, fmt.Sprintf("u-customer-%03d", i)))
			if err != nil && !errors.Is(err, ErrActiveRepresentation) {
				t.Error(err)
				return
			}
			if err == nil {
				mu.Lock()
				won[actor] = append(won[actor], rep.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	total := 0
	for actor, ids := range won {
		total += len(ids)
		if len(ids) != 1 {
			t.Fatalf("%s won %d times", actor, len(ids))
		}
		if lock := string(e.rawKV(repLockKey(actor))); lock != ids[0] {
			t.Fatalf("lock of %s is %q, want %q", actor, lock, ids[0])
		}
	}
	if total != 50 {
		t.Fatalf("%d sessions, want 50", total)
	}
}
