package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/actas-dev/actas/storage"
)

// storeShort is the lifetime of the short-lived records below; storeEventually polls for up to 5s.
const storeShort = 300 * time.Millisecond

func testStoreExpiry(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/tokens-expire-with-their-session", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		sess := func() *openid.DefaultSession { return storeSession("alice", storeShort) }
		storeNoErr(t, "code", h.store.CreateAuthorizeCodeSession(h.ctx, "code", h.request("r", sess())))
		storeNoErr(t, "access", h.store.CreateAccessTokenSession(h.ctx, "at", h.request("r", sess())))
		storeNoErr(t, "refresh", h.store.CreateRefreshTokenSession(h.ctx, "rt", "at", h.request("r", sess())))
		storeNoErr(t, "pkce", h.store.CreatePKCERequestSession(h.ctx, "code", h.request("r", sess())))
		storeNoErr(t, "oidc", h.store.CreateOpenIDConnectSession(h.ctx, "code", h.request("r", sess())))
		// A used code and a rotated refresh token keep their expiry (a state change must never
		// make a record permanent).
		storeNoErr(t, "invalidate", h.store.InvalidateAuthorizeCodeSession(h.ctx, "code"))
		storeNoErr(t, "rotate", h.store.RotateRefreshToken(h.ctx, "r", "rt"))

		gets := map[string]func() error{
			"code":    func() error { _, err := h.store.GetAuthorizeCodeSession(h.ctx, "code", nil); return err },
			"access":  func() error { _, err := h.store.GetAccessTokenSession(h.ctx, "at", nil); return err },
			"refresh": func() error { _, err := h.store.GetRefreshTokenSession(h.ctx, "rt", nil); return err },
			"pkce":    func() error { _, err := h.store.GetPKCERequestSession(h.ctx, "code", nil); return err },
			"oidc": func() error {
				_, err := h.store.GetOpenIDConnectSession(h.ctx, "code", h.request("x", &openid.DefaultSession{}))
				return err
			},
		}
		for kind, get := range gets {
			if err := get(); errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("%s: gone before its expiry", kind)
			}
		}
		for kind, get := range gets {
			storeEventually(t, kind+" expires", func() bool { return errors.Is(get(), fosite.ErrNotFound) })
		}
	})
	t.Run("ok/default-ttl-without-session-expiry", func(t *testing.T) {
		h := newStoreHarnessOn(t, newKV(t), storage.StoreOptions{DefaultTTL: storeShort})
		storeNoErr(t, "create", h.store.CreateRefreshTokenSession(h.ctx, "rt", "", h.request("r", &openid.DefaultSession{Subject: "alice"})))
		_, err := h.store.GetRefreshTokenSession(h.ctx, "rt", nil)
		storeNoErr(t, "get", err)
		storeEventually(t, "refresh token without expiry gets the default TTL", func() bool {
			_, err := h.store.GetRefreshTokenSession(h.ctx, "rt", nil)
			return errors.Is(err, fosite.ErrNotFound)
		})
	})
	t.Run("ok/assertion-jti-expires", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "set", h.store.SetClientAssertionJWT(h.ctx, "jti", time.Now().Add(storeShort)))
		storeWantErr(t, "known", h.store.ClientAssertionJWTValid(h.ctx, "jti"), fosite.ErrJTIKnown)
		storeEventually(t, "jti forgotten after its expiry", func() bool { return h.store.ClientAssertionJWTValid(h.ctx, "jti") == nil })
	})
	t.Run("ok/records-and-indexes-expire", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "put", h.store.PutRecord(h.ctx, "consent", "c1", map[string]int{"n": 1}, storeShort))
		storeNoErr(t, "update keeping ttl", h.store.UpdateRecord(h.ctx, "consent", "c1", storage.KeepTTL, func(cur []byte) ([]byte, error) {
			return []byte(`{"n":2}`), nil
		}))
		storeNoErr(t, "index", h.store.AddToIndex(h.ctx, "consent", "c1", storeShort, "a", "b"))
		storeEventually(t, "record expires", func() bool {
			return errors.Is(h.store.GetRecord(h.ctx, "consent", "c1", &map[string]int{}), storage.ErrNotFound)
		})
		storeEventually(t, "index expires", func() bool {
			m, err := h.store.IndexMembers(h.ctx, "consent", "c1")
			return err == nil && len(m) == 0
		})
	})
	t.Run("ok/login-session-idle-timeout-extended-by-touch", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		const idle = time.Second
		ls := &storage.LoginSession{ID: "ls1", Subject: "alice", AuthTime: time.Now()}
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, ls, idle))
		created := time.Now() // the first idle deadline is before created+idle
		time.Sleep(idle * 2 / 3)
		touchAt := time.Now() // the extended one is after touchAt+idle
		err := h.store.TouchLoginSession(h.ctx, ls, idle)
		if errors.Is(err, storage.ErrNotFound) && time.Since(created) >= idle {
			t.Skipf("the touch ran %v after the create, past the idle timeout: nothing to check", time.Since(created))
		}
		storeNoErr(t, "touch", err)
		time.Sleep(idle * 2 / 3) // past the first idle deadline, within the extended one
		getAt := time.Now()
		_, err = h.store.GetLoginSession(h.ctx, "ls1")
		if errors.Is(err, storage.ErrNotFound) && getAt.Sub(touchAt) >= idle {
			t.Skipf("the get ran %v after the touch, past the extended timeout: nothing to check", getAt.Sub(touchAt))
		}
		storeNoErr(t, "get after touch", err)
		if getAt.Sub(created) < idle {
			t.Logf("the get ran %v after the create, before the first idle deadline: the extension is not shown", getAt.Sub(created))
		}
		storeEventually(t, "idle session ends", func() bool {
			_, err := h.store.GetLoginSession(h.ctx, "ls1")
			return errors.Is(err, storage.ErrNotFound)
		})
	})
	t.Run("ok/login-session-absolute-timeout", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		ls := &storage.LoginSession{ID: "ls1", Subject: "alice", ExpiresAt: time.Now().Add(storeShort)}
		storeNoErr(t, "create", h.store.CreateLoginSession(h.ctx, ls, time.Hour))
		storeEventually(t, "session ends at its absolute expiry", func() bool {
			_, err := h.store.GetLoginSession(h.ctx, "ls1")
			return errors.Is(err, storage.ErrNotFound)
		})
		storeWantErr(t, "touch after the absolute expiry", h.store.TouchLoginSession(h.ctx, ls, time.Hour), storage.ErrNotFound)
	})
}
