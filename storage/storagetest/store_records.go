package storagetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

type storeLock struct {
	Owner string `json:"owner"`
	Since int64  `json:"since"`
}

type storeCounter struct {
	N int `json:"n"`
}

func testStoreRecords(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/put-get-delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "put", h.store.PutRecord(h.ctx, "rep", "s1", storeLock{Owner: "agent", Since: 7}, time.Hour))
		var got storeLock
		storeNoErr(t, "get", h.store.GetRecord(h.ctx, "rep", "s1", &got))
		if got != (storeLock{Owner: "agent", Since: 7}) {
			t.Fatalf("record = %+v", got)
		}
		storeNoErr(t, "overwrite", h.store.PutRecord(h.ctx, "rep", "s1", storeLock{Owner: "other"}, time.Hour))
		storeNoErr(t, "get", h.store.GetRecord(h.ctx, "rep", "s1", &got))
		if got.Owner != "other" {
			t.Fatalf("after put: %+v", got)
		}
		storeWantErr(t, "same id, other kind", h.store.GetRecord(h.ctx, "consent", "s1", &got), storage.ErrNotFound)
		storeNoErr(t, "delete", h.store.DeleteRecord(h.ctx, "rep", "s1"))
		storeWantErr(t, "get deleted", h.store.GetRecord(h.ctx, "rep", "s1", &got), storage.ErrNotFound)
		storeNoErr(t, "delete missing", h.store.DeleteRecord(h.ctx, "rep", "s1"))
	})
	t.Run("fail/invalid-address", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		for _, ref := range [][2]string{{"", "id"}, {"kind", ""}, {"bad:kind", "id"}, {"bad{kind}", "id"}, {"Upper", "id"}} {
			if err := h.store.PutRecord(h.ctx, ref[0], ref[1], 1, time.Hour); err == nil {
				t.Errorf("put %q/%q accepted", ref[0], ref[1])
			}
		}
	})
	t.Run("fail/create-conflict", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateRecord(h.ctx, "lock", "agent", storeLock{Owner: "a"}, time.Hour))
		storeWantErr(t, "create again", h.store.CreateRecord(h.ctx, "lock", "agent", storeLock{Owner: "b"}, time.Hour), storage.ErrConflict)
		var got storeLock
		storeNoErr(t, "get", h.store.GetRecord(h.ctx, "lock", "agent", &got))
		if got.Owner != "a" {
			t.Fatalf("a failed create overwrote the record: %+v", got)
		}
	})
	t.Run("ok/create-records-all-or-nothing", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "existing", h.store.CreateRecord(h.ctx, "rep-active", "agent", "s0", time.Hour))
		err := h.store.CreateRecords(h.ctx,
			storage.Record{Kind: "rep-lock", ID: "agent", Value: storeLock{Owner: "s1"}, TTL: time.Hour},
			storage.Record{Kind: "rep-active", ID: "agent", Value: "s1", TTL: time.Hour})
		storeWantErr(t, "create over an existing record", err, storage.ErrConflict)
		var lock storeLock
		storeWantErr(t, "nothing half-written", h.store.GetRecord(h.ctx, "rep-lock", "agent", &lock), storage.ErrNotFound)

		storeNoErr(t, "create both", h.store.CreateRecords(h.ctx,
			storage.Record{Kind: "rep-lock", ID: "agent2", Value: storeLock{Owner: "s2"}, TTL: time.Hour},
			storage.Record{Kind: "rep-active", ID: "agent2", Value: "s2", TTL: time.Hour}))
		var active string
		storeNoErr(t, "get lock", h.store.GetRecord(h.ctx, "rep-lock", "agent2", &lock))
		storeNoErr(t, "get active", h.store.GetRecord(h.ctx, "rep-active", "agent2", &active))
		if lock.Owner != "s2" || active != "s2" {
			t.Fatalf("records = %+v, %q", lock, active)
		}
	})
	t.Run("fail/create-records-different-ids", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		err := h.store.CreateRecords(h.ctx,
			storage.Record{Kind: "a", ID: "x", Value: 1, TTL: time.Hour},
			storage.Record{Kind: "b", ID: "y", Value: 2, TTL: time.Hour})
		if err == nil {
			t.Fatal("records with different ids (different Cluster slots) were created together")
		}
		var v int
		storeWantErr(t, "nothing written", h.store.GetRecord(h.ctx, "a", "x", &v), storage.ErrNotFound)
	})
	t.Run("ok/update", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		inc := func(cur []byte) ([]byte, error) {
			var c storeCounter
			if cur != nil {
				if err := json.Unmarshal(cur, &c); err != nil {
					return nil, err
				}
			}
			c.N++
			return json.Marshal(c)
		}
		storeWantErr(t, "keep-ttl on a missing record", h.store.UpdateRecord(h.ctx, "ctr", "c", storage.KeepTTL, inc), storage.ErrNotFound)
		storeNoErr(t, "create by update", h.store.UpdateRecord(h.ctx, "ctr", "c", time.Hour, inc))
		storeNoErr(t, "update", h.store.UpdateRecord(h.ctx, "ctr", "c", storage.KeepTTL, inc))
		var c storeCounter
		storeNoErr(t, "get", h.store.GetRecord(h.ctx, "ctr", "c", &c))
		if c.N != 2 {
			t.Fatalf("counter = %d, want 2", c.N)
		}
	})
	t.Run("fail/update-fn-error-aborts-without-retry", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "put", h.store.PutRecord(h.ctx, "code", "h1", map[string]bool{"used": true}, time.Hour))
		calls := 0
		// Even an error that wraps ErrConflict ("already used") is the caller's answer, not a race.
		errUsed := fmt.Errorf("already used: %w", storage.ErrConflict)
		err := h.store.UpdateRecord(h.ctx, "code", "h1", storage.KeepTTL, func([]byte) ([]byte, error) {
			calls++
			return nil, errUsed
		})
		storeWantErr(t, "update", err, errUsed)
		if calls != 1 {
			t.Fatalf("fn called %d times, want 1", calls)
		}
		err = h.store.UpdateRecord(h.ctx, "code", "h1", storage.KeepTTL, func([]byte) ([]byte, error) { return []byte("not json"), nil })
		if err == nil {
			t.Fatal("a non-JSON value was stored")
		}
	})
	t.Run("ok/delete-if-owner", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateRecord(h.ctx, "lock", "agent", storeLock{Owner: "a"}, time.Hour))
		owner := func(want string) func([]byte) (bool, error) {
			return func(cur []byte) (bool, error) {
				var l storeLock
				err := json.Unmarshal(cur, &l)
				return l.Owner == want, err
			}
		}
		storeWantErr(t, "release by another owner", h.store.DeleteRecordIf(h.ctx, "lock", "agent", owner("b")), storage.ErrConflict)
		var l storeLock
		storeNoErr(t, "still held", h.store.GetRecord(h.ctx, "lock", "agent", &l))
		storeNoErr(t, "release by the owner", h.store.DeleteRecordIf(h.ctx, "lock", "agent", owner("a")))
		storeWantErr(t, "released", h.store.GetRecord(h.ctx, "lock", "agent", &l), storage.ErrNotFound)
		storeWantErr(t, "release again", h.store.DeleteRecordIf(h.ctx, "lock", "agent", owner("a")), storage.ErrNotFound)
	})
	t.Run("ok/index", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "add", h.store.AddToIndex(h.ctx, "rep-grants", "s1", time.Hour, "req-b", "req-a"))
		storeNoErr(t, "add again", h.store.AddToIndex(h.ctx, "rep-grants", "s1", time.Hour, "req-c", "req-a"))
		m, err := h.store.IndexMembers(h.ctx, "rep-grants", "s1")
		storeNoErr(t, "members", err)
		if fmt.Sprint(m) != "[req-a req-b req-c]" {
			t.Fatalf("members = %v", m)
		}
		storeNoErr(t, "remove", h.store.RemoveFromIndex(h.ctx, "rep-grants", "s1", "req-b", "req-zzz"))
		m, err = h.store.IndexMembers(h.ctx, "rep-grants", "s1")
		storeNoErr(t, "members", err)
		if fmt.Sprint(m) != "[req-a req-c]" {
			t.Fatalf("members after remove = %v", m)
		}
		m, err = h.store.IndexMembers(h.ctx, "rep-grants", "missing")
		if err != nil || len(m) != 0 {
			t.Fatalf("missing index: %v, %v", m, err)
		}
	})
	t.Run("ok/concurrent-updates-none-lost", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		const n = 20
		errs := storeRace(n, func(int) error {
			return h.store.UpdateRecord(h.ctx, "ctr", "c", time.Hour, func(cur []byte) ([]byte, error) {
				var c storeCounter
				if cur != nil {
					if err := json.Unmarshal(cur, &c); err != nil {
						return nil, err
					}
				}
				c.N++
				// Widen the read-modify-write window so that the updates really overlap.
				time.Sleep(time.Millisecond)
				return json.Marshal(c)
			})
		})
		for i, err := range errs {
			storeNoErr(t, fmt.Sprintf("update %d", i), err)
		}
		var c storeCounter
		storeNoErr(t, "get", h.store.GetRecord(h.ctx, "ctr", "c", &c))
		if c.N != n {
			t.Fatalf("counter = %d after %d concurrent increments: updates were lost", c.N, n)
		}
	})
	t.Run("ok/concurrent-create-one-wins", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		errs := storeRace(20, func(i int) error {
			return h.store.CreateRecord(h.ctx, "lock", "agent", storeLock{Owner: fmt.Sprint(i)}, time.Hour)
		})
		storeOneWins(t, "concurrent lock", errs, storage.ErrConflict)
	})
}
