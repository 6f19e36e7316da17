package storagetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// storeRecordingKV remembers every key the Store names.
type storeRecordingKV struct {
	storage.KV
	mu   sync.Mutex
	keys []string
}

func (k *storeRecordingKV) saw(keys ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys = append(k.keys, keys...)
}

func (k *storeRecordingKV) Get(ctx context.Context, key string) ([]byte, error) {
	k.saw(key)
	return k.KV.Get(ctx, key)
}

func (k *storeRecordingKV) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.saw(key)
	return k.KV.Set(ctx, key, v, ttl)
}

func (k *storeRecordingKV) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.saw(key)
	return k.KV.Create(ctx, key, v, ttl)
}

func (k *storeRecordingKV) CreateAll(ctx context.Context, entries []storage.Entry) error {
	for _, e := range entries {
		k.saw(e.Key)
	}
	return k.KV.CreateAll(ctx, entries)
}

func (k *storeRecordingKV) CompareAndSwap(ctx context.Context, key string, old, v []byte, ttl time.Duration) error {
	k.saw(key)
	return k.KV.CompareAndSwap(ctx, key, old, v, ttl)
}

func (k *storeRecordingKV) SetAdd(ctx context.Context, key string, ttl time.Duration, members ...string) error {
	k.saw(key)
	k.saw(members...)
	return k.KV.SetAdd(ctx, key, ttl, members...)
}

func testStoreKeys(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/no-credential-in-key-names", func(t *testing.T) {
		rkv := &storeRecordingKV{KV: newKV(t)}
		h := newStoreHarnessOn(t, rkv, storage.StoreOptions{})
		const secret = "SECRET"
		req := h.request("grant-1", storeSession("alice", time.Hour))
		storeNoErr(t, "code", h.store.CreateAuthorizeCodeSession(h.ctx, secret+"-code-sig", req))
		storeNoErr(t, "pkce", h.store.CreatePKCERequestSession(h.ctx, secret+"-code-sig", req))
		storeNoErr(t, "oidc", h.store.CreateOpenIDConnectSession(h.ctx, "ory_ac_"+secret+"-code", req))
		storeNoErr(t, "access", h.store.CreateAccessTokenSession(h.ctx, secret+"-at-sig", req))
		storeNoErr(t, "refresh", h.store.CreateRefreshTokenSession(h.ctx, secret+"-rt-sig", secret+"-at-sig", req))
		storeNoErr(t, "rotate", h.store.RotateRefreshToken(h.ctx, "grant-1", secret+"-rt-sig"))
		storeNoErr(t, "jti", h.store.SetClientAssertionJWT(h.ctx, secret+"-jti", time.Now().Add(time.Minute)))
		ls := &storage.LoginSession{ID: secret + "-cookie", Subject: "alice"}
		storeNoErr(t, "login", h.store.CreateLoginSession(h.ctx, ls, time.Hour))
		storeNoErr(t, "touch", h.store.TouchLoginSession(h.ctx, ls, time.Hour))
		_, err := h.store.ListLoginSessions(h.ctx, "alice")
		storeNoErr(t, "list logins", err)
		storeNoErr(t, "record", h.store.CreateRecord(h.ctx, "handoff", storage.SecretID(secret+"-handoff"), "x", time.Minute))
		var v string
		storeNoErr(t, "record by secret id", h.store.GetRecord(h.ctx, "handoff", storage.SecretID(secret+"-handoff"), &v))

		rkv.mu.Lock()
		defer rkv.mu.Unlock()
		if len(rkv.keys) < 10 {
			t.Fatalf("only %d keys recorded", len(rkv.keys))
		}
		for _, k := range rkv.keys {
			if strings.Contains(k, secret) {
				t.Errorf("key or index member %q contains a credential", k)
			}
		}
	})
}
