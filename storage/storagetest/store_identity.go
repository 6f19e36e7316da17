package storagetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

func testStoreClients(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/round-trip", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		got, err := h.store.GetClient(h.ctx, h.client.ID)
		storeNoErr(t, "get client", err)
		if !reflect.DeepEqual(got, h.client) {
			t.Fatalf("client = %+v, want %+v", got, h.client)
		}
		pub := &storage.Client{ID: "mobile", Public: true, RedirectURIs: []string{"app:/cb"}}
		storeNoErr(t, "upsert", h.store.UpsertClient(h.ctx, pub))
		pub.Name = "Mobile app" // update in place
		storeNoErr(t, "update", h.store.UpsertClient(h.ctx, pub))
		all, err := h.store.ListClients(h.ctx)
		storeNoErr(t, "list", err)
		if len(all) != 2 || all[0].ID != "app" || all[1].ID != "mobile" || all[1].Name != "Mobile app" {
			t.Fatalf("list = %+v, want app then the updated mobile", all)
		}
	})
	t.Run("fail/not-found", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		c, err := h.store.GetClient(h.ctx, "nope")
		storeWantErr(t, "get unknown client", err, storage.ErrNotFound)
		storeWantErr(t, "get unknown client (fosite sentinel)", err, fosite.ErrNotFound)
		if c != nil {
			t.Fatalf("client = %#v, want a nil interface", c)
		}
	})
	t.Run("ok/delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "delete", h.store.DeleteClient(h.ctx, h.client.ID))
		storeNoErr(t, "delete again", h.store.DeleteClient(h.ctx, h.client.ID))
		_, err := h.store.GetClient(h.ctx, h.client.ID)
		storeWantErr(t, "get deleted", err, storage.ErrNotFound)
		all, err := h.store.ListClients(h.ctx)
		storeNoErr(t, "list", err)
		if len(all) != 0 {
			t.Fatalf("list after delete = %+v", all)
		}
	})
	t.Run("fail/empty-id", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		if err := h.store.UpsertClient(h.ctx, &storage.Client{}); err == nil {
			t.Fatal("upsert of a client without id succeeded")
		}
	})
	t.Run("ok/assertion-jti-denylist", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		exp := time.Now().Add(time.Minute)
		storeNoErr(t, "unknown jti", h.store.ClientAssertionJWTValid(h.ctx, "jti-1"))
		storeNoErr(t, "set", h.store.SetClientAssertionJWT(h.ctx, "jti-1", exp))
		storeWantErr(t, "valid after set", h.store.ClientAssertionJWTValid(h.ctx, "jti-1"), fosite.ErrJTIKnown)
		storeWantErr(t, "set twice", h.store.SetClientAssertionJWT(h.ctx, "jti-1", exp), fosite.ErrJTIKnown)
		storeNoErr(t, "other jti", h.store.ClientAssertionJWTValid(h.ctx, "jti-2"))
		// An assertion that has already expired cannot be replayed: nothing to remember.
		storeNoErr(t, "set expired", h.store.SetClientAssertionJWT(h.ctx, "jti-3", time.Now().Add(-time.Hour)))
		storeNoErr(t, "expired jti", h.store.ClientAssertionJWTValid(h.ctx, "jti-3"))
	})
	t.Run("ok/assertion-jti-concurrent", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		exp := time.Now().Add(time.Minute)
		errs := storeRace(10, func(int) error { return h.store.SetClientAssertionJWT(h.ctx, "jti-race", exp) })
		storeOneWins(t, "concurrent jti use", errs, fosite.ErrJTIKnown)
	})
}

func testStoreUsers(t *testing.T, newKV func(t *testing.T) storage.KV) {
	alice := func() *storage.User {
		return &storage.User{
			ID: "u-alice", Username: "Alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice A",
			Roles: []string{"customer"}, Tenant: "t1", ImpersonationAllowed: true,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", TOTPSecret: "JBSWY3DPEHPK3PXP",
		}
	}
	t.Run("ok/round-trip", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		u := alice()
		storeNoErr(t, "upsert", h.store.UpsertUser(h.ctx, u))
		got, err := h.store.GetUser(h.ctx, u.ID)
		storeNoErr(t, "get", err)
		if !reflect.DeepEqual(got, u) {
			t.Fatalf("user = %+v, want %+v", got, u)
		}
		for _, name := range []string{"Alice", "alice", " ALICE "} {
			got, err := h.store.GetUserByUsername(h.ctx, name)
			storeNoErr(t, "by username "+name, err)
			if got.ID != u.ID {
				t.Fatalf("by username %q = %q", name, got.ID)
			}
		}
	})
	t.Run("fail/not-found", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		_, err := h.store.GetUser(h.ctx, "nope")
		storeWantErr(t, "get unknown", err, storage.ErrNotFound)
		_, err = h.store.GetUserByUsername(h.ctx, "nope")
		storeWantErr(t, "by unknown username", err, storage.ErrNotFound)
		_, err = h.store.GetUserByUsername(h.ctx, "")
		storeWantErr(t, "by empty username", err, storage.ErrNotFound)
	})
	t.Run("fail/username-taken", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "upsert alice", h.store.UpsertUser(h.ctx, alice()))
		other := &storage.User{ID: "u-other", Username: "ALICE"}
		storeWantErr(t, "second user with alice's username", h.store.UpsertUser(h.ctx, other), storage.ErrConflict)
		_, err := h.store.GetUser(h.ctx, other.ID)
		storeWantErr(t, "the refused user", err, storage.ErrNotFound)
	})
	t.Run("ok/rename-frees-username", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		u := alice()
		storeNoErr(t, "upsert", h.store.UpsertUser(h.ctx, u))
		u.Username = "alice2"
		storeNoErr(t, "rename", h.store.UpsertUser(h.ctx, u))
		_, err := h.store.GetUserByUsername(h.ctx, "alice")
		storeWantErr(t, "old username", err, storage.ErrNotFound)
		got, err := h.store.GetUserByUsername(h.ctx, "alice2")
		storeNoErr(t, "new username", err)
		if got.ID != u.ID {
			t.Fatalf("new username resolves to %q", got.ID)
		}
		storeNoErr(t, "old username reusable", h.store.UpsertUser(h.ctx, &storage.User{ID: "u-x", Username: "alice"}))
	})
	t.Run("ok/list-pages-by-id", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		for _, id := range []string{"u3", "u1", "u5", "u2", "u4"} {
			storeNoErr(t, "upsert "+id, h.store.UpsertUser(h.ctx, &storage.User{ID: id, Username: "name-" + id}))
		}
		var seen []string
		cursor, pages := "", 0
		for {
			page, next, err := h.store.ListUsers(h.ctx, cursor, 2)
			storeNoErr(t, "list", err)
			pages++
			for _, u := range page {
				seen = append(seen, u.ID)
			}
			if next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			cursor = next
		}
		if fmt.Sprint(seen) != "[u1 u2 u3 u4 u5]" || pages != 3 {
			t.Fatalf("pages = %d, ids = %v; want 3 pages of u1..u5", pages, seen)
		}
		all, next, err := h.store.ListUsers(h.ctx, "", 0)
		storeNoErr(t, "list all", err)
		if len(all) != 5 || next != "" {
			t.Fatalf("default limit: %d users, next %q", len(all), next)
		}
	})
	t.Run("ok/delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		u := alice()
		storeNoErr(t, "upsert", h.store.UpsertUser(h.ctx, u))
		storeNoErr(t, "delete", h.store.DeleteUser(h.ctx, u.ID))
		storeNoErr(t, "delete again", h.store.DeleteUser(h.ctx, u.ID))
		_, err := h.store.GetUserByUsername(h.ctx, u.Username)
		storeWantErr(t, "by username after delete", err, storage.ErrNotFound)
		page, _, err := h.store.ListUsers(h.ctx, "", 10)
		storeNoErr(t, "list", err)
		if len(page) != 0 {
			t.Fatalf("list after delete = %+v", page)
		}
	})
}
