package storagetest

import (
	"maps"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/actas-dev/actas/storage"
)

func testStoreTokens(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/code-create-get-invalidate", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		want := h.request("req-code", storeSession("alice", time.Hour))
		storeNoErr(t, "create", h.store.CreateAuthorizeCodeSession(h.ctx, "sig-code", want))
		got, err := h.store.GetAuthorizeCodeSession(h.ctx, "sig-code", &openid.DefaultSession{})
		storeNoErr(t, "get", err)
		storeSameRequest(t, got, want)
		if got.GetSession().GetSubject() != "alice" {
			t.Fatalf("subject = %q", got.GetSession().GetSubject())
		}

		storeNoErr(t, "invalidate", h.store.InvalidateAuthorizeCodeSession(h.ctx, "sig-code"))
		got, err = h.store.GetAuthorizeCodeSession(h.ctx, "sig-code", &openid.DefaultSession{})
		storeWantErr(t, "get used code", err, fosite.ErrInvalidatedAuthorizeCode)
		storeSameRequest(t, got, want) // fosite needs the request to revoke what the code issued
		storeWantErr(t, "invalidate twice", h.store.InvalidateAuthorizeCodeSession(h.ctx, "sig-code"), fosite.ErrInvalidatedAuthorizeCode)
	})
	t.Run("fail/code-unknown", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		got, err := h.store.GetAuthorizeCodeSession(h.ctx, "nope", &openid.DefaultSession{})
		storeWantErr(t, "get", err, fosite.ErrNotFound)
		if got != nil {
			t.Fatalf("request = %v, want nil", got)
		}
		storeWantErr(t, "invalidate", h.store.InvalidateAuthorizeCodeSession(h.ctx, "nope"), fosite.ErrNotFound)
	})
	t.Run("ok/access-create-get-delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		want := h.request("req-at", storeSession("alice", time.Hour))
		storeNoErr(t, "create", h.store.CreateAccessTokenSession(h.ctx, "sig-at", want))
		got, err := h.store.GetAccessTokenSession(h.ctx, "sig-at", &openid.DefaultSession{})
		storeNoErr(t, "get", err)
		storeSameRequest(t, got, want)
		storeNoErr(t, "delete", h.store.DeleteAccessTokenSession(h.ctx, "sig-at"))
		_, err = h.store.GetAccessTokenSession(h.ctx, "sig-at", &openid.DefaultSession{})
		storeWantErr(t, "get deleted", err, fosite.ErrNotFound)
		storeNoErr(t, "delete missing", h.store.DeleteAccessTokenSession(h.ctx, "sig-at"))
	})
	t.Run("ok/refresh-create-get-delete", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		want := h.request("req-rt", storeSession("alice", time.Hour))
		storeNoErr(t, "create", h.store.CreateRefreshTokenSession(h.ctx, "sig-rt", "sig-at", want))
		got, err := h.store.GetRefreshTokenSession(h.ctx, "sig-rt", &openid.DefaultSession{})
		storeNoErr(t, "get", err)
		storeSameRequest(t, got, want)
		storeNoErr(t, "delete", h.store.DeleteRefreshTokenSession(h.ctx, "sig-rt"))
		_, err = h.store.GetRefreshTokenSession(h.ctx, "sig-rt", &openid.DefaultSession{})
		storeWantErr(t, "get deleted", err, fosite.ErrNotFound)
	})
	t.Run("fail/kinds-are-separate", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create access", h.store.CreateAccessTokenSession(h.ctx, "same-sig", h.request("r", storeSession("alice", time.Hour))))
		_, err := h.store.GetRefreshTokenSession(h.ctx, "same-sig", nil)
		storeWantErr(t, "refresh with an access signature", err, fosite.ErrNotFound)
		_, err = h.store.GetAuthorizeCodeSession(h.ctx, "same-sig", nil)
		storeWantErr(t, "code with an access signature", err, fosite.ErrNotFound)
		_, err = h.store.GetPKCERequestSession(h.ctx, "same-sig", nil)
		storeWantErr(t, "pkce with an access signature", err, fosite.ErrNotFound)
	})
	t.Run("fail/create-twice", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		req := h.request("r", storeSession("alice", time.Hour))
		storeNoErr(t, "create", h.store.CreateAccessTokenSession(h.ctx, "dup", req))
		storeWantErr(t, "create again", h.store.CreateAccessTokenSession(h.ctx, "dup", req), storage.ErrConflict)
	})
	t.Run("ok/pkce", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		want := h.request("req-pkce", storeSession("alice", time.Hour))
		storeNoErr(t, "create", h.store.CreatePKCERequestSession(h.ctx, "sig-code", want))
		got, err := h.store.GetPKCERequestSession(h.ctx, "sig-code", &openid.DefaultSession{})
		storeNoErr(t, "get", err)
		storeSameRequest(t, got, want)
		if got.GetRequestForm().Get("code_challenge") == "" || got.GetRequestForm().Get("code_challenge_method") != "S256" {
			t.Fatalf("PKCE form not kept: %v", got.GetRequestForm())
		}
		storeNoErr(t, "delete", h.store.DeletePKCERequestSession(h.ctx, "sig-code"))
		_, err = h.store.GetPKCERequestSession(h.ctx, "sig-code", &openid.DefaultSession{})
		storeWantErr(t, "get deleted", err, fosite.ErrNotFound)
	})
	t.Run("ok/oidc", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		want := h.request("req-oidc", storeSession("alice", time.Hour))
		const code = "ory_ac_the-whole-code.signature" // fosite passes the code itself here
		storeNoErr(t, "create", h.store.CreateOpenIDConnectSession(h.ctx, code, want))
		proto := &openid.DefaultSession{}
		prototypeHolder := h.request("incoming", proto)
		got, err := h.store.GetOpenIDConnectSession(h.ctx, code, prototypeHolder)
		storeNoErr(t, "get", err)
		storeSameRequest(t, got, want)
		if got.GetSession() != fosite.Session(proto) || proto.Claims == nil || proto.Claims.Nonce != "nonce-alice" {
			t.Fatalf("session not decoded into the requester's session: %+v", got.GetSession())
		}
		storeNoErr(t, "delete", h.store.DeleteOpenIDConnectSession(h.ctx, code))
		_, err = h.store.GetOpenIDConnectSession(h.ctx, code, prototypeHolder)
		storeWantErr(t, "get deleted", err, openid.ErrNoSessionFound)
	})
}

// storeCustomSession is a session type of our own, like oauth.Session: an embedded
// openid.DefaultSession plus fields fosite knows nothing about.
type storeCustomSession struct {
	*openid.DefaultSession `json:"oidc"`
	ClientID               string         `json:"client_id"`
	Act                    *storeActor    `json:"act,omitempty"`
	Extra                  map[string]any `json:"extra,omitempty"`
}

type storeActor struct {
	Subject string      `json:"sub"`
	Act     *storeActor `json:"act,omitempty"`
}

func (s *storeCustomSession) Clone() fosite.Session {
	c := *s
	if s.DefaultSession != nil {
		c.DefaultSession = s.DefaultSession.Clone().(*openid.DefaultSession)
	}
	c.Extra = maps.Clone(s.Extra)
	return &c
}

func testStoreSessionDecoding(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/into-openid-default-session", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		in := storeSession("alice", time.Hour)
		storeNoErr(t, "create", h.store.CreateAccessTokenSession(h.ctx, "sig", h.request("r", in)))
		proto := &openid.DefaultSession{}
		got, err := h.store.GetAccessTokenSession(h.ctx, "sig", proto)
		storeNoErr(t, "get", err)
		if got.GetSession() != fosite.Session(proto) {
			t.Fatalf("session is %T %p, want the prototype %p", got.GetSession(), got.GetSession(), proto)
		}
		if proto.Subject != "alice" || proto.Username != "alice-name" || proto.Claims.Nonce != "nonce-alice" ||
			proto.Claims.Extra["tenant"] != "t1" || len(proto.Claims.AuthenticationMethodsReferences) != 2 || proto.Headers.Extra["kid"] != "k1" {
			t.Fatalf("decoded session = %+v (claims %+v)", proto, proto.Claims)
		}
		if !proto.GetExpiresAt(fosite.AccessToken).Equal(in.GetExpiresAt(fosite.AccessToken)) {
			t.Fatalf("access token expiry = %v, want %v", proto.GetExpiresAt(fosite.AccessToken), in.GetExpiresAt(fosite.AccessToken))
		}
	})
	t.Run("ok/into-custom-session", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		in := &storeCustomSession{
			DefaultSession: storeSession("alice", time.Hour),
			ClientID:       "app",
			Act:            &storeActor{Subject: "agent", Act: &storeActor{Subject: "bot"}},
			Extra:          map[string]any{"reason": "ticket-42"},
		}
		storeNoErr(t, "create", h.store.CreateRefreshTokenSession(h.ctx, "sig", "", h.request("r", in)))
		proto := &storeCustomSession{}
		got, err := h.store.GetRefreshTokenSession(h.ctx, "sig", proto)
		storeNoErr(t, "get", err)
		if got.GetSession() != fosite.Session(proto) {
			t.Fatalf("session is %T, want the prototype", got.GetSession())
		}
		if proto.DefaultSession == nil || proto.Subject != "alice" || proto.ClientID != "app" ||
			proto.Act == nil || proto.Act.Subject != "agent" || proto.Act.Act == nil || proto.Act.Act.Subject != "bot" ||
			proto.Extra["reason"] != "ticket-42" {
			t.Fatalf("decoded custom session = %+v", proto)
		}
	})
	t.Run("ok/nil-prototype", func(t *testing.T) {
		// fosite's revocation handler passes a nil session.
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateRefreshTokenSession(h.ctx, "sig", "", h.request("r", storeSession("alice", time.Hour))))
		got, err := h.store.GetRefreshTokenSession(h.ctx, "sig", nil)
		storeNoErr(t, "get", err)
		if got.GetSession() == nil || got.GetSession().GetSubject() != "alice" || got.GetID() != "r" {
			t.Fatalf("request = %+v", got)
		}
	})
	t.Run("ok/client-reloaded", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateAccessTokenSession(h.ctx, "sig", h.request("r", storeSession("alice", time.Hour))))
		changed := storeClient()
		changed.Scopes = []string{"openid"}
		storeNoErr(t, "update client", h.store.UpsertClient(h.ctx, changed))
		got, err := h.store.GetAccessTokenSession(h.ctx, "sig", nil)
		storeNoErr(t, "get", err)
		if s := got.GetClient().GetScopes(); len(s) != 1 {
			t.Fatalf("client scopes = %v, want the updated client", s)
		}
	})
	t.Run("fail/client-deleted", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateAccessTokenSession(h.ctx, "sig", h.request("r", storeSession("alice", time.Hour))))
		storeNoErr(t, "delete client", h.store.DeleteClient(h.ctx, h.client.ID))
		_, err := h.store.GetAccessTokenSession(h.ctx, "sig", nil)
		storeWantErr(t, "token of a deleted client", err, fosite.ErrNotFound)
	})
}
