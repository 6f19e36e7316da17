package storagetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// storeClock is a settable clock for StoreOptions.Now.
type storeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *storeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *storeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testStoreLoginSessions(t *testing.T, newKV func(t *testing.T) storage.KV) {
	newSession := func(id, subject string) *storage.LoginSession {
		return &storage.LoginSession{
			ID: id, Subject: subject, AuthTime: time.Now().UTC().Truncate(time.Second),
			AMR: []string{"pwd", "otp", "mfa"}, ACR: "urn:actas:mfa", CSRFToken: "csrf-" + id,
		}
	}
	t.Run("ok/create-get-delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		ls := newSession("ls1", "alice")
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, ls, time.Hour))
		if ls.CreatedAt.IsZero() || ls.LastSeenAt.IsZero() {
			t.Fatal("CreatedAt / LastSeenAt not set")
		}
		got, err := h.store.GetLoginSession(h.ctx, "ls1")
		storeNoErr(t, "get", err)
		if got.Subject != "alice" || got.ACR != ls.ACR || len(got.AMR) != 3 || got.CSRFToken != ls.CSRFToken ||
			!got.AuthTime.Equal(ls.AuthTime) || !got.CreatedAt.Equal(ls.CreatedAt) {
			t.Fatalf("login session = %+v, want %+v", got, ls)
		}
		storeNoErr(t, "delete", h.store.DeleteLoginSession(h.ctx, "ls1"))
		_, err = h.store.GetLoginSession(h.ctx, "ls1")
		storeWantErr(t, "get deleted", err, storage.ErrNotFound)
		storeNoErr(t, "delete again", h.store.DeleteLoginSession(h.ctx, "ls1"))
	})
	t.Run("fail/create-invalid", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, newSession("ls1", "alice"), time.Hour))
		storeWantErr(t, "duplicate id", h.store.CreateLoginSession(h.ctx, newSession("ls1", "bob"), time.Hour), storage.ErrConflict)
		for name, tc := range map[string]struct {
			ls   *storage.LoginSession
			idle time.Duration
		}{
			"fail/empty-id":        {&storage.LoginSession{Subject: "alice"}, time.Hour},
			"fail/empty-subject":   {&storage.LoginSession{ID: "x"}, time.Hour},
			"fail/zero-idle":       {newSession("x", "alice"), 0},
			"fail/already-expired": {&storage.LoginSession{ID: "x", Subject: "alice", ExpiresAt: time.Now().Add(-time.Second)}, time.Hour},
		} {
			if err := h.store.CreateLoginSession(h.ctx, tc.ls, tc.idle); err == nil {
				t.Errorf("%s: created", name)
			}
		}
	})
	t.Run("ok/touch-updates-last-seen", func(t *testing.T) {
		clock := &storeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		h := newStoreHarnessOn(t, newKV(t), storage.StoreOptions{Now: clock.Now})
		ls := newSession("ls1", "alice")
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, ls, time.Hour))
		clock.Advance(time.Minute)
		ls.AMR = append(ls.AMR, "hwk") // a step-up the caller records while touching
		storeNoErr(t, "touch", h.store.TouchLoginSession(h.ctx, ls, time.Hour))
		got, err := h.store.GetLoginSession(h.ctx, "ls1")
		storeNoErr(t, "get", err)
		if want := clock.Now(); !got.LastSeenAt.Equal(want) || len(got.AMR) != 4 {
			t.Fatalf("after touch: last seen %v (want %v), amr %v", got.LastSeenAt, want, got.AMR)
		}
		if !got.CreatedAt.Equal(clock.Now().Add(-time.Minute)) {
			t.Fatalf("touch changed CreatedAt to %v", got.CreatedAt)
		}
	})
	t.Run("fail/touch-never-resurrects", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		ls := newSession("ls1", "alice")
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, ls, time.Hour))
		storeNoErr(t, "delete", h.store.DeleteLoginSession(h.ctx, "ls1"))
		storeWantErr(t, "touch deleted", h.store.TouchLoginSession(h.ctx, ls, time.Hour), storage.ErrNotFound)
		_, err := h.store.GetLoginSession(h.ctx, "ls1")
		storeWantErr(t, "get after touch", err, storage.ErrNotFound)
	})
	t.Run("fail/touch-other-subject", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, newSession("ls1", "alice"), time.Hour))
		if err := h.store.TouchLoginSession(h.ctx, newSession("ls1", "mallory"), time.Hour); err == nil {
			t.Fatal("touch changed the session's subject")
		}
	})
	t.Run("ok/list-by-subject", func(t *testing.T) {
		clock := &storeClock{now: time.Now().UTC()}
		h := newStoreHarnessOn(t, newKV(t), storage.StoreOptions{Now: clock.Now})
		for _, s := range []*storage.LoginSession{newSession("a2", "alice"), newSession("b1", "bob"), newSession("a1", "alice")} {
			storeNoErr(t, "create "+s.ID, h.store.CreateLoginSession(h.ctx, s, time.Hour))
			clock.Advance(time.Second)
		}
		got, err := h.store.ListLoginSessions(h.ctx, "alice")
		storeNoErr(t, "list", err)
		if len(got) != 2 || got[0].ID != "a2" || got[1].ID != "a1" {
			t.Fatalf("alice's sessions = %v, want a2 then a1 (oldest first)", storeLoginIDs(got))
		}
		storeNoErr(t, "delete a2", h.store.DeleteLoginSession(h.ctx, "a2"))
		got, err = h.store.ListLoginSessions(h.ctx, "alice")
		storeNoErr(t, "list", err)
		if len(got) != 1 || got[0].ID != "a1" {
			t.Fatalf("after delete: %v, want a1", storeLoginIDs(got))
		}
		got, err = h.store.ListLoginSessions(h.ctx, "nobody")
		storeNoErr(t, "list unknown subject", err)
		if len(got) != 0 {
			t.Fatalf("unknown subject: %v", storeLoginIDs(got))
		}
	})
	t.Run("ok/login-clients", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, newSession("ls1", "alice"), time.Hour))
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, newSession("ls2", "alice"), time.Hour))
		until := time.Now().Add(time.Hour)
		spa := storage.LoginClient{ClientID: "spa", SID: "sid-1"}
		console := storage.LoginClient{ClientID: "console", SID: "sid-1"}
		for _, c := range []storage.LoginClient{spa, console, spa} {
			storeNoErr(t, "add "+c.ClientID, h.store.AddLoginClient(h.ctx, "ls1", c, until))
		}
		mobile := storage.LoginClient{ClientID: "mobile", SID: "sid-2"}
		storeNoErr(t, "add to another session", h.store.AddLoginClient(h.ctx, "ls2", mobile, until))
		wantClients := func(id string, want ...storage.LoginClient) {
			t.Helper()
			got, err := h.store.LoginClients(h.ctx, id)
			storeNoErr(t, "login clients of "+id, err)
			if !slices.Equal(got, want) {
				t.Fatalf("clients of %s = %+v, want %+v", id, got, want)
			}
		}
		wantClients("ls1", console, spa)
		wantClients("ls2", mobile)
		wantClients("unknown")
		// The hooks of a deleted session still find its clients; dropping them forgets them.
		storeNoErr(t, "delete", h.store.DeleteLoginSession(h.ctx, "ls1"))
		wantClients("ls1", console, spa)
		// A client recorded once the session is gone is refused (the authorization must fail).
		storeWantErr(t, "add to an ended session", h.store.AddLoginClient(h.ctx, "ls1", mobile, until), storage.ErrNotFound)
		storeWantErr(t, "add to an unknown session", h.store.AddLoginClient(h.ctx, "ls9", mobile, until), storage.ErrNotFound)
		storeNoErr(t, "drop", h.store.DropLoginClients(h.ctx, "ls1"))
		storeNoErr(t, "drop again", h.store.DropLoginClients(h.ctx, "ls1"))
		wantClients("ls2", mobile)
		for name, c := range map[string]storage.LoginClient{"no-client": {SID: "s"}, "no-sid": {ClientID: "spa"}} {
			if err := h.store.AddLoginClient(h.ctx, "ls2", c, until); err == nil {
				t.Fatalf("%s: added", name)
			}
		}
		if err := h.store.AddLoginClient(h.ctx, "", spa, until); err == nil {
			t.Fatal("added a client to an empty session id")
		}
	})
}

func storeLoginIDs(ls []*storage.LoginSession) []string {
	ids := make([]string, len(ls))
	for i, s := range ls {
		ids[i] = s.ID
	}
	return ids
}
