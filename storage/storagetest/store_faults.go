package storagetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/actas-dev/actas/storage"
)

// storeFailingKV wraps a KV and fails the chosen operations with an error wrapping
// storage.ErrUnavailable, as a backend does when its server is unreachable.
type storeFailingKV struct {
	storage.KV
	mu     sync.Mutex
	failOn map[string]bool // operation name, or "*" for all
	// before, when set, runs once just before the next write (set, create, cas), to interleave
	// a concurrent change deterministically.
	before func()
	closed atomic.Int32
}

func (k *storeFailingKV) failing(ops ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.failOn = map[string]bool{}
	for _, op := range ops {
		k.failOn[op] = true
	}
}

func (k *storeFailingKV) check(op string) error {
	k.mu.Lock()
	var before func()
	if op == "set" || op == "create" || op == "cas" {
		before, k.before = k.before, nil
	}
	fail := k.failOn["*"] || k.failOn[op]
	k.mu.Unlock()
	if before != nil {
		before()
	}
	if fail {
		return fmt.Errorf("storagetest: %s: connection refused: %w", op, storage.ErrUnavailable)
	}
	return nil
}

func (k *storeFailingKV) Get(ctx context.Context, key string) ([]byte, error) {
	if err := k.check("get"); err != nil {
		return nil, err
	}
	return k.KV.Get(ctx, key)
}

func (k *storeFailingKV) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := k.check("set"); err != nil {
		return err
	}
	return k.KV.Set(ctx, key, value, ttl)
}

func (k *storeFailingKV) Create(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := k.check("create"); err != nil {
		return err
	}
	return k.KV.Create(ctx, key, value, ttl)
}

func (k *storeFailingKV) CreateAll(ctx context.Context, entries []storage.Entry) error {
	if err := k.check("create-all"); err != nil {
		return err
	}
	return k.KV.CreateAll(ctx, entries)
}

func (k *storeFailingKV) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) error {
	if err := k.check("cas"); err != nil {
		return err
	}
	return k.KV.CompareAndSwap(ctx, key, old, value, ttl)
}

func (k *storeFailingKV) CompareAndDelete(ctx context.Context, key string, old []byte) error {
	if err := k.check("cad"); err != nil {
		return err
	}
	return k.KV.CompareAndDelete(ctx, key, old)
}

func (k *storeFailingKV) Delete(ctx context.Context, keys ...string) error {
	if err := k.check("delete"); err != nil {
		return err
	}
	return k.KV.Delete(ctx, keys...)
}

func (k *storeFailingKV) SetAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	if err := k.check("set-add"); err != nil {
		return err
	}
	return k.KV.SetAdd(ctx, key, ttl, members...)
}

func (k *storeFailingKV) SetRemove(ctx context.Context, key string, members ...string) error {
	if err := k.check("set-remove"); err != nil {
		return err
	}
	return k.KV.SetRemove(ctx, key, members...)
}

func (k *storeFailingKV) SetMembers(ctx context.Context, key string) ([]string, error) {
	if err := k.check("set-members"); err != nil {
		return nil, err
	}
	return k.KV.SetMembers(ctx, key)
}

func (k *storeFailingKV) TTL(ctx context.Context, key string) (time.Duration, error) {
	if err := k.check("ttl"); err != nil {
		return 0, err
	}
	return k.KV.TTL(ctx, key)
}

func (k *storeFailingKV) Ping(ctx context.Context) error {
	if err := k.check("ping"); err != nil {
		return err
	}
	return k.KV.Ping(ctx)
}

// Close counts the call and does not close the wrapped KV, whose owner closes it.
func (k *storeFailingKV) Close() error {
	k.closed.Add(1)
	return nil
}

func testStoreUnavailable(t *testing.T, newKV func(t *testing.T) storage.KV) {
	setup := func(t *testing.T) (*storeHarness, *storeFailingKV) {
		fkv := &storeFailingKV{KV: newKV(t)}
		h := newStoreHarnessOn(t, fkv, storage.StoreOptions{TTLMargin: 50 * time.Millisecond, MaxRetries: 3})
		storeNoErr(t, "seed user", h.store.UpsertUser(h.ctx, &storage.User{ID: "u1", Username: "alice"}))
		storeNoErr(t, "seed login", h.store.CreateLoginSession(h.ctx, &storage.LoginSession{ID: "ls1", Subject: "u1"}, time.Hour))
		storeNoErr(t, "seed record", h.store.PutRecord(h.ctx, "rec", "r1", 1, time.Hour))
		h.grant("grant-1", []string{"at1"}, "rt1")
		storeNoErr(t, "seed code", h.store.CreateAuthorizeCodeSession(h.ctx, "code", h.request("grant-1", storeSession("alice", time.Hour))))
		storeNoErr(t, "seed pkce", h.store.CreatePKCERequestSession(h.ctx, "code", h.request("grant-1", storeSession("alice", time.Hour))))
		storeNoErr(t, "seed oidc", h.store.CreateOpenIDConnectSession(h.ctx, "code", h.request("grant-1", storeSession("alice", time.Hour))))
		return h, fkv
	}

	t.Run("fail/every-operation-reports-unavailable", func(t *testing.T) {
		h, fkv := setup(t)
		s, ctx := h.store, h.ctx
		req := func() fosite.Requester { return h.request("grant-2", storeSession("alice", time.Hour)) }
		sess := &openid.DefaultSession{}
		ls := &storage.LoginSession{ID: "ls1", Subject: "u1"}
		ops := map[string]func() error{
			"ping":                 func() error { return s.Ping(ctx) },
			"get-client":           func() error { _, err := s.GetClient(ctx, "app"); return err },
			"list-clients":         func() error { _, err := s.ListClients(ctx); return err },
			"upsert-client":        func() error { return s.UpsertClient(ctx, storeClient()) },
			"delete-client":        func() error { return s.DeleteClient(ctx, "app") },
			"jti-valid":            func() error { return s.ClientAssertionJWTValid(ctx, "jti") },
			"jti-set":              func() error { return s.SetClientAssertionJWT(ctx, "jti", time.Now().Add(time.Minute)) },
			"upsert-user":          func() error { return s.UpsertUser(ctx, &storage.User{ID: "u2", Username: "bob"}) },
			"get-user":             func() error { _, err := s.GetUser(ctx, "u1"); return err },
			"get-user-by-username": func() error { _, err := s.GetUserByUsername(ctx, "alice"); return err },
			"list-users":           func() error { _, _, err := s.ListUsers(ctx, "", 10); return err },
			"delete-user":          func() error { return s.DeleteUser(ctx, "u1") },
			"create-code":          func() error { return s.CreateAuthorizeCodeSession(ctx, "code2", req()) },
			"get-code":             func() error { _, err := s.GetAuthorizeCodeSession(ctx, "code", sess); return err },
			"invalidate-code":      func() error { return s.InvalidateAuthorizeCodeSession(ctx, "code") },
			"create-access":        func() error { return s.CreateAccessTokenSession(ctx, "at2", req()) },
			"get-access":           func() error { _, err := s.GetAccessTokenSession(ctx, "at1", sess); return err },
			"delete-access":        func() error { return s.DeleteAccessTokenSession(ctx, "at1") },
			"create-refresh":       func() error { return s.CreateRefreshTokenSession(ctx, "rt2", "at2", req()) },
			"get-refresh":          func() error { _, err := s.GetRefreshTokenSession(ctx, "rt1", sess); return err },
			"delete-refresh":       func() error { return s.DeleteRefreshTokenSession(ctx, "rt1") },
			"rotate-refresh":       func() error { return s.RotateRefreshToken(ctx, "grant-1", "rt1") },
			"revoke-refresh":       func() error { return s.RevokeRefreshToken(ctx, "grant-1") },
			"revoke-access":        func() error { return s.RevokeAccessToken(ctx, "grant-1") },
			"create-pkce":          func() error { return s.CreatePKCERequestSession(ctx, "code2", req()) },
			"get-pkce":             func() error { _, err := s.GetPKCERequestSession(ctx, "code", sess); return err },
			"delete-pkce":          func() error { return s.DeletePKCERequestSession(ctx, "code") },
			"create-oidc":          func() error { return s.CreateOpenIDConnectSession(ctx, "code2", req()) },
			"get-oidc":             func() error { _, err := s.GetOpenIDConnectSession(ctx, "code", req()); return err },
			"delete-oidc":          func() error { return s.DeleteOpenIDConnectSession(ctx, "code") },
			"create-login": func() error {
				return s.CreateLoginSession(ctx, &storage.LoginSession{ID: "ls2", Subject: "u1"}, time.Hour)
			},
			"get-login":     func() error { _, err := s.GetLoginSession(ctx, "ls1"); return err },
			"touch-login":   func() error { return s.TouchLoginSession(ctx, ls, time.Hour) },
			"delete-login":  func() error { return s.DeleteLoginSession(ctx, "ls1") },
			"list-logins":   func() error { _, err := s.ListLoginSessions(ctx, "u1"); return err },
			"put-record":    func() error { return s.PutRecord(ctx, "rec", "r2", 1, time.Hour) },
			"create-record": func() error { return s.CreateRecord(ctx, "rec", "r2", 1, time.Hour) },
			"get-record":    func() error { var v int; return s.GetRecord(ctx, "rec", "r1", &v) },
			"update-record": func() error {
				return s.UpdateRecord(ctx, "rec", "r1", storage.KeepTTL, func([]byte) ([]byte, error) { return []byte("2"), nil })
			},
			"delete-record": func() error { return s.DeleteRecord(ctx, "rec", "r1") },
			"delete-record-if": func() error {
				return s.DeleteRecordIf(ctx, "rec", "r1", func([]byte) (bool, error) { return true, nil })
			},
			"add-to-index":  func() error { return s.AddToIndex(ctx, "idx", "i1", time.Hour, "m") },
			"index-members": func() error { _, err := s.IndexMembers(ctx, "idx", "i1"); return err },
			"remove-from-index": func() error {
				return s.RemoveFromIndex(ctx, "idx", "i1", "m")
			},
		}
		fkv.failing("*")
		for name, op := range ops {
			if err := op(); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("%s: err = %v, want one wrapping storage.ErrUnavailable", name, err)
			}
		}
		// Each subsequent read fails closed on every path, not only the first KV call: fail just
		// the second step of some operations.
		fkv.failing("set-members")
		storeWantErr(t, "revoke with the index unreadable", s.RevokeAccessToken(ctx, "grant-1"), storage.ErrUnavailable)
		fkv.failing("cas")
		storeWantErr(t, "revoke with the state flip failing", s.RevokeAccessToken(ctx, "grant-1"), storage.ErrUnavailable)
		storeWantErr(t, "revoke refresh with the state flip failing", s.RevokeRefreshToken(ctx, "grant-1"), storage.ErrUnavailable)
		storeWantErr(t, "invalidate with the state flip failing", s.InvalidateAuthorizeCodeSession(ctx, "code"), storage.ErrUnavailable)
		fkv.failing("get")
		storeWantErr(t, "touch with the read failing", s.TouchLoginSession(ctx, ls, time.Hour), storage.ErrUnavailable)
		fkv.failing("cas")
		storeWantErr(t, "rotate with the swap failing", s.RotateRefreshToken(ctx, "grant-1", "rt1"), storage.ErrUnavailable)
		fkv.failing()
		h.wantActive("rt", "rt1", true) // the failed rotation changed nothing
	})
	t.Run("ok/index-written-before-token", func(t *testing.T) {
		h, fkv := setup(t)
		fkv.failing("set-add")
		storeWantErr(t, "create access", h.store.CreateAccessTokenSession(h.ctx, "at-x", h.request("grant-1", storeSession("alice", time.Hour))), storage.ErrUnavailable)
		fkv.failing()
		_, err := h.store.GetAccessTokenSession(h.ctx, "at-x", nil)
		storeWantErr(t, "a token whose index entry failed must not exist", err, fosite.ErrNotFound)
	})
	t.Run("fail/touch-racing-logout-never-resurrects", func(t *testing.T) {
		h, fkv := setup(t)
		ls, err := h.store.GetLoginSession(h.ctx, "ls1")
		storeNoErr(t, "get", err)
		fkv.mu.Lock()
		fkv.before = func() { storeNoErr(t, "logout", h.store.DeleteLoginSession(h.ctx, "ls1")) }
		fkv.mu.Unlock()
		// The logout lands between the touch's read and its write.
		storeWantErr(t, "touch", h.store.TouchLoginSession(h.ctx, ls, time.Hour), storage.ErrNotFound)
		_, err = h.store.GetLoginSession(h.ctx, "ls1")
		storeWantErr(t, "session after logout", err, storage.ErrNotFound)
	})
	t.Run("ok/close-delegates", func(t *testing.T) {
		h, fkv := setup(t)
		storeNoErr(t, "close", h.store.Close())
		if fkv.closed.Load() != 1 {
			t.Fatalf("Close reached the KV %d times, want 1", fkv.closed.Load())
		}
	})
}
