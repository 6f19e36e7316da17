package exchange

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/actas-dev/actas/storage"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
)

// repRedisPair opens two KVs ("two actas processes") on one Redis, with one key prefix.
func repRedisPair(t *testing.T) (*redisstore.KV, *redisstore.KV) {
	t.Helper()
	o := redistest.Options(t)
	open := func() *redisstore.KV {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		kv, err := redisstore.New(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = kv.Close() })
		return kv
	}
	return open(), open()
}

// TestRepTwoProcesses runs the lock races across two services, each with its own Redis client,
// on one Redis: through the token endpoint (100 impersonation exchanges by one agent, spread over
// both) and through the service (one actor × 100 targets, 100 joins, 50 actors × 2).
func TestRepTwoProcesses(t *testing.T) {
	t.Parallel()
	t.Run("ok/100-exchanges-one-session", func(t *testing.T) {
		t.Parallel()
		kv1, kv2 := repRedisPair(t)
		e1, e2 := newRepEnv(t, nil, repOnKV(kv1)), newRepEnv(t, nil, repOnKV(kv2))
		ctx := context.Background()
		for i := range 100 {
			u := &storage.User{ID: fmt.Sprintf("u-t%03d", i), Username: fmt.Sprintf("t%03d", i), Roles: []string{"customer"},
				Tenant: "acme", ImpersonationAllowed: true}
			if err := e1.store.UpsertUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		agent := e1.agent("u-sam")
		var wg sync.WaitGroup
		answers := make([]repAnswer, 100)
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e := []*repEnv{e1, e2}[i%2]
				answers[i] = e.impersonate(agent, fmt.Sprintf("u-t%03d", i))
			}()
		}
		wg.Wait()
		var ok []string
		for _, a := range answers {
			switch a.status {
			case http.StatusOK:
				ok = append(ok, claimsOfRep(t, a.str("access_token"))["sid"].(string))
			case http.StatusBadRequest:
				if a.str("reason_code") != "" && a.str("reason_code") != CodeActiveRepresentation {
					t.Fatalf("refusal %v", a.body)
				}
			default:
				t.Fatalf("%d %v", a.status, a.body)
			}
		}
		if len(ok) != 1 {
			t.Fatalf("%d exchanges succeeded", len(ok))
		}
		if lock := string(e1.rawKV(repLockKey("u-sam"))); lock != ok[0] {
			t.Fatalf("lock %q, session %q", lock, ok[0])
		}
	})
	t.Run("ok/one-actor-100-targets", func(t *testing.T) {
		t.Parallel()
		kv1, kv2 := repRedisPair(t)
		e1, e2 := newRepEnv(t, nil, repOnKV(kv1)), newRepEnv(t, nil, repOnKV(kv2))
		repRaceOneActor(t, []*Service{e1.svc, e2.svc}, e1)
	})
	t.Run("ok/one-actor-100-joins", func(t *testing.T) {
		t.Parallel()
		kv1, kv2 := repRedisPair(t)
		e1, e2 := newRepEnv(t, nil, repOnKV(kv1)), newRepEnv(t, nil, repOnKV(kv2))
		repRaceJoins(t, []*Service{e1.svc, e2.svc})
	})
	t.Run("ok/50-actors-2-attempts", func(t *testing.T) {
		t.Parallel()
		kv1, kv2 := repRedisPair(t)
		e1, e2 := newRepEnv(t, nil, repOnKV(kv1)), newRepEnv(t, nil, repOnKV(kv2))
		repRaceActors(t, []*Service{e1.svc, e2.svc}, e1)
	})
}

// TestRepRestart: a new process on the same Redis finds sessions, locks and revocations.
func TestRepRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	kv1, kv2 := repRedisPair(t)
	before := newRepEnv(t, nil, repOnKV(kv1))
	agent := before.agent("u-sam")
	stopped, stoppedSID := before.mustImpersonate(before.agent("u-sky"), "u-alice")
	if _, _, err := before.svc.Stop(ctx, stoppedSID, "u-sky", EndStoppedByActor); err != nil {
		t.Fatal(err)
	}
	active, sid := before.mustImpersonate(agent, "u-bob")
	if err := before.svc.Close(ctx); err != nil { // the first process exits
		t.Fatal(err)
	}

	after := newRepEnv(t, nil, repOnKV(kv2))
	if err := after.svc.Active(ctx, sid); err != nil {
		t.Fatalf("the session did not survive: %v", err)
	}
	if in := after.introspect(active.str("access_token")); in["active"] != true || in["sid"] != sid {
		t.Fatalf("token of the session after the restart: %v", in)
	}
	if in := after.introspect(stopped.str("access_token")); in["active"] != false {
		t.Fatalf("a revoked token came back: %v", in)
	}
	if a := after.impersonate(agent, "u-carol"); a.status != http.StatusBadRequest || a.str("reason_code") != CodeActiveRepresentation {
		t.Fatalf("the lock did not survive: %d %v", a.status, a.body)
	}
	if a := after.do(http.MethodPost, "/api/v1/representations/current/stop", agent, nil); a.status != http.StatusOK || a.body["id"] != sid {
		t.Fatalf("stop after the restart: %d %v", a.status, a.body)
	}
	if in := after.introspect(active.str("access_token")); in["active"] != false {
		t.Fatalf("after the stop: %v", in)
	}
}

// TestRepRedisOutage stops a real redis-server under the service: every call fails with an error
// wrapping storage.ErrUnavailable (never "ended" nor a half-written session), the token endpoint
// answers 503, and the service works again once Redis is back.
func TestRepRedisOutage(t *testing.T) {
	t.Parallel()
	srv := redistest.StartServer(t)
	ctx := context.Background()
	kv, err := redisstore.New(ctx, redisstore.Options{URL: srv.URL(), Timeout: redistest.TestTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kv.Close() })
	e := newRepEnv(t, nil, repOnKV(kv))
	agent := e.agent("u-sam")
	_, sid := e.mustImpersonate(agent, "u-bob")

	// Starts in flight while Redis goes away: each succeeds or fails with ErrUnavailable.
	var wg sync.WaitGroup
	errs := make(chan error, 400)
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := e.svc.Start(ctx, repStartReq(fmt.Sprintf("u-w%d-%d", w, i), "u-alice")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	time.Sleep(50 * time.Millisecond)
	srv.Stop()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("a start failed without ErrUnavailable: %v", err)
		}
	}

	if _, err := e.svc.Start(ctx, repStartReq("u-sky", "u-carol")); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("start: %v", err)
	}
	if err := e.svc.Active(ctx, sid); !errors.Is(err, storage.ErrUnavailable) || errors.Is(err, ErrRepresentationEnded) {
		t.Fatalf("active: %v", err)
	}
	if _, _, err := e.svc.Stop(ctx, sid, "u-sam", EndStoppedByActor); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("stop: %v", err)
	}
	if _, _, err := e.svc.List(ctx, RepFilter{}); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("list: %v", err)
	}
	if a := e.impersonate(agent, "u-carol"); a.status != http.StatusServiceUnavailable || a.str("access_token") != "" {
		t.Fatalf("exchange during the outage: %d %v", a.status, a.body)
	}
	if a := e.do(http.MethodGet, "/api/v1/representations/"+sid, agent, nil); a.status != http.StatusServiceUnavailable {
		t.Fatalf("API during the outage: %d %v", a.status, a.body)
	}

	srv.Start() // empty: a throwaway server persists nothing
	var rep Representation
	for range 50 { // the client reconnects
		if rep, err = e.svc.Start(ctx, repStartReq("u-sky", "u-carol")); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil || rep.Joined {
		t.Fatalf("start after the outage: %+v %v", rep, err)
	}
	e.checkLockInvariant("u-sky", rep.ID)
}

// BenchmarkRepresentationMemory reports the Redis memory (MEMORY USAGE) of one active session
// with everything it keeps: lock, record, id pointer, grant set, and its entries in the actor,
// target and day indexes. Each session has its own actor and target, so the per-user index sets
// are not shared: the worst case. Target: at most 2 KiB.
func BenchmarkRepresentationMemory(b *testing.B) {
	if redistest.Which() != redistest.KindServer && redistest.Which() != redistest.KindURL {
		b.Skip("needs a real Redis (redis-server on PATH or ACTAS_TEST_REDIS_URL): miniredis has no MEMORY USAGE")
	}
	ctx := context.Background()
	o := redistest.Options(b)
	kv, err := redisstore.New(ctx, o)
	if err != nil {
		b.Fatal(err)
	}
	defer kv.Close()
	svc, err := NewService(ServiceOptions{KV: kv, Store: storage.NewStore(kv, storage.StoreOptions{}), Issuer: repIssuer,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		req := repStartReq(fmt.Sprintf("u-agent-%07d", i), fmt.Sprintf("u-customer-%07d", i))
		rep, err := svc.Start(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.RecordGrant(ctx, rep.ID, "00000000-0000-4000-8000-"+fmt.Sprintf("%012d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var total int64
	rdb := kv.Client().(*goredis.Client)
	iter := rdb.Scan(ctx, 0, o.KeyPrefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := kv.MemoryUsage(ctx, iter.Val()[len(o.KeyPrefix):])
		if err != nil {
			b.Fatal(err)
		}
		total += n
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/float64(b.N), "B/session")
}
