package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"

	"github.com/actas-dev/actas/storage"
)

// storeFosite drives fosite's own token endpoint handlers (code exchange, refresh, revocation,
// introspection) over the Store, with opaque HMAC tokens: the Store is checked against what fosite
// actually does, not against our reading of it.
type storeFosite struct {
	h       *storeHarness
	strat   *oauth2.HMACSHAStrategy
	code    *oauth2.AuthorizeExplicitGrantHandler
	refresh *oauth2.RefreshTokenGrantHandler
	revoke  *oauth2.TokenRevocationHandler
	intro   *oauth2.CoreValidator
}

func newStoreFosite(h *storeHarness) *storeFosite {
	cfg := &fosite.Config{
		GlobalSecret:          []byte("storagetest-global-secret-32-bytes!!"),
		AccessTokenLifespan:   time.Hour,
		RefreshTokenLifespan:  24 * time.Hour,
		AuthorizeCodeLifespan: 10 * time.Minute,
		// Set explicitly: fosite's getters write their defaults lazily, a data race under -race.
		ScopeStrategy:            fosite.ExactScopeStrategy,
		AudienceMatchingStrategy: fosite.DefaultAudienceMatchingStrategy,
	}
	strat := compose.NewOAuth2HMACStrategy(cfg)
	return &storeFosite{
		h:     h,
		strat: strat,
		code: &oauth2.AuthorizeExplicitGrantHandler{
			AccessTokenStrategy: strat, RefreshTokenStrategy: strat, AuthorizeCodeStrategy: strat,
			CoreStorage: h.store, TokenRevocationStorage: h.store, Config: cfg,
		},
		refresh: &oauth2.RefreshTokenGrantHandler{
			AccessTokenStrategy: strat, RefreshTokenStrategy: strat, TokenRevocationStorage: h.store, Config: cfg,
		},
		revoke: &oauth2.TokenRevocationHandler{TokenRevocationStorage: h.store, RefreshTokenStrategy: strat, AccessTokenStrategy: strat},
		intro:  &oauth2.CoreValidator{CoreStrategy: strat, CoreStorage: h.store, Config: cfg},
	}
}

// issueCode stores an authorization code as the authorize endpoint would and returns it.
func (f *storeFosite) issueCode(requestID string) string {
	f.h.t.Helper()
	req := f.h.request(requestID, storeSession("alice", 10*time.Minute))
	code, sig, err := f.strat.GenerateAuthorizeCode(f.h.ctx, req)
	storeNoErr(f.h.t, "generate code", err)
	storeNoErr(f.h.t, "store code", f.h.store.CreateAuthorizeCodeSession(f.h.ctx, sig, req))
	return code
}

// token runs one token request through handler h (Handle, then Populate) as fosite's
// NewAccessRequest/NewAccessResponse would, and returns the access and refresh tokens.
func (f *storeFosite) token(h fosite.TokenEndpointHandler, grant, param, value string) (at, rt string, err error) {
	ar := fosite.NewAccessRequest(&openid.DefaultSession{})
	ar.GrantTypes = fosite.Arguments{grant}
	ar.Client = f.h.client
	ar.Form.Set(param, value)
	ar.Form.Set("redirect_uri", storeRedirect)
	if err := h.HandleTokenEndpointRequest(f.h.ctx, ar); err != nil {
		return "", "", err
	}
	resp := fosite.NewAccessResponse()
	if err := h.PopulateTokenEndpointResponse(f.h.ctx, ar, resp); err != nil {
		return "", "", err
	}
	rt, _ = resp.GetExtra("refresh_token").(string)
	if resp.GetAccessToken() == "" || rt == "" {
		return "", "", fmt.Errorf("response without tokens: %v", resp.ToMap())
	}
	return resp.GetAccessToken(), rt, nil
}

func (f *storeFosite) redeem(code string) (string, string, error) {
	return f.token(f.code, "authorization_code", "code", code)
}

func (f *storeFosite) refreshWith(rt string) (string, string, error) {
	return f.token(f.refresh, "refresh_token", "refresh_token", rt)
}

// active reports whether fosite's introspection accepts token.
func (f *storeFosite) active(token string) bool {
	_, err := f.intro.IntrospectToken(f.h.ctx, token, fosite.AccessToken, fosite.NewAccessRequest(&openid.DefaultSession{}), nil)
	return err == nil
}

func testStoreFosite(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/code-exchange-then-replay-revokes", func(t *testing.T) {
		f := newStoreFosite(newStoreHarness(t, newKV))
		code := f.issueCode("grant-1")
		at, rt, err := f.redeem(code)
		storeNoErr(t, "redeem", err)
		if !f.active(at) || !f.active(rt) {
			t.Fatal("tokens from the code exchange are not active")
		}
		_, _, err = f.redeem(code)
		storeWantErr(t, "replayed code", err, fosite.ErrInvalidGrant)
		if f.active(at) || f.active(rt) {
			t.Fatal("a replayed code did not revoke what the first redemption issued (RFC 6749 §4.1.2)")
		}
	})
	t.Run("ok/code-concurrent-redemptions-one-wins", func(t *testing.T) {
		f := newStoreFosite(newStoreHarness(t, newKV))
		code := f.issueCode("grant-1")
		errs := storeRace(10, func(int) error { _, _, err := f.redeem(code); return err })
		if wins := storeCountNil(errs); wins != 1 {
			t.Fatalf("%d of 10 concurrent redemptions got tokens, want 1 (errors: %v)", wins, errs)
		}
	})
	t.Run("ok/refresh-rotates-and-reuse-revokes-grant", func(t *testing.T) {
		f := newStoreFosite(newStoreHarness(t, newKV))
		at1, rt1, err := f.redeem(f.issueCode("grant-1"))
		storeNoErr(t, "redeem", err)
		at2, rt2, err := f.refreshWith(rt1)
		storeNoErr(t, "refresh", err)
		if f.active(at1) || f.active(rt1) {
			t.Fatal("the previous access or refresh token is still active after a refresh")
		}
		if !f.active(at2) || !f.active(rt2) {
			t.Fatal("the refreshed tokens are not active")
		}
		_, _, err = f.refreshWith(rt1)
		storeWantErr(t, "reuse of rt1", err, fosite.ErrInvalidGrant)
		if f.active(at2) || f.active(rt2) {
			t.Fatal("reuse of a refresh token did not revoke the grant (RFC 9700 §4.14.2)")
		}
		_, _, err = f.refreshWith(rt2)
		if err == nil {
			t.Fatal("a revoked refresh token was accepted")
		}
	})
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprintf("ok/parallel-refresh-one-of-%d-wins", n), func(t *testing.T) {
			f := newStoreFosite(newStoreHarness(t, newKV))
			_, rt, err := f.redeem(f.issueCode("grant-1"))
			storeNoErr(t, "redeem", err)
			errs := storeRace(n, func(int) error { _, _, err := f.refreshWith(rt); return err })
			if wins := storeCountNil(errs); wins != 1 {
				t.Fatalf("%d of %d parallel refreshes got tokens, want 1 (errors: %v)", wins, n, errs)
			}
		})
	}
	t.Run("ok/revocation-by-refresh-token-revokes-grant", func(t *testing.T) {
		f := newStoreFosite(newStoreHarness(t, newKV))
		at, rt, err := f.redeem(f.issueCode("grant-1"))
		storeNoErr(t, "redeem", err)
		other := &storage.Client{ID: "other"}
		err = f.revoke.RevokeToken(f.h.ctx, rt, fosite.RefreshToken, other)
		storeWantErr(t, "revocation by another client", err, fosite.ErrUnauthorizedClient)
		if !f.active(at) {
			t.Fatal("another client's revocation had an effect")
		}
		storeNoErr(t, "revoke", f.revoke.RevokeToken(f.h.ctx, rt, fosite.RefreshToken, f.h.client))
		if f.active(at) || f.active(rt) {
			t.Fatal("revoking the refresh token left a token of its grant active (RFC 7009 §2.1)")
		}
		storeNoErr(t, "revoke again", f.revoke.RevokeToken(f.h.ctx, at, fosite.AccessToken, f.h.client))
	})
}

func storeCountNil(errs []error) int {
	n := 0
	for _, err := range errs {
		if err == nil {
			n++
		}
	}
	return n
}
