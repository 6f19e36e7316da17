package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// grant issues access and refresh token records under one request id, as fosite's code flow
// does.
func (h *storeHarness) grant(requestID string, accessSigs []string, refreshSig string) {
	h.t.Helper()
	for _, sig := range accessSigs {
		storeNoErr(h.t, "create access token", h.store.CreateAccessTokenSession(h.ctx, sig, h.request(requestID, storeSession("alice", time.Hour))))
	}
	if refreshSig != "" {
		accessSig := ""
		if len(accessSigs) > 0 {
			accessSig = accessSigs[0]
		}
		storeNoErr(h.t, "create refresh token", h.store.CreateRefreshTokenSession(h.ctx, refreshSig, accessSig, h.request(requestID, storeSession("alice", time.Hour))))
	}
}

// wantActive checks the state of access (at) or refresh (rt) token records by signature.
func (h *storeHarness) wantActive(kind, sig string, active bool) {
	h.t.Helper()
	var (
		req fosite.Requester
		err error
	)
	switch kind {
	case "at":
		req, err = h.store.GetAccessTokenSession(h.ctx, sig, nil)
	case "rt":
		req, err = h.store.GetRefreshTokenSession(h.ctx, sig, nil)
	default:
		h.t.Fatalf("unknown kind %q", kind)
	}
	switch {
	case active && err != nil:
		h.t.Fatalf("%s %s: err = %v, want active", kind, sig, err)
	case !active:
		storeWantErr(h.t, fmt.Sprintf("%s %s", kind, sig), err, fosite.ErrInactiveToken)
		if req == nil {
			h.t.Fatalf("%s %s: inactive token returned no request; fosite needs it", kind, sig)
		}
	}
}

func testStoreGrants(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/revoke-whole-grant", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		h.grant("grant-1", []string{"at1", "at2"}, "rt1")
		h.grant("grant-2", []string{"at3"}, "rt3")

		storeNoErr(t, "revoke refresh", h.store.RevokeRefreshToken(h.ctx, "grant-1"))
		h.wantActive("rt", "rt1", false)
		h.wantActive("at", "at1", true)

		storeNoErr(t, "revoke access", h.store.RevokeAccessToken(h.ctx, "grant-1"))
		h.wantActive("at", "at1", false)
		h.wantActive("at", "at2", false)

		h.wantActive("at", "at3", true) // another grant is untouched
		h.wantActive("rt", "rt3", true)

		storeNoErr(t, "revoke again (idempotent)", h.store.RevokeAccessToken(h.ctx, "grant-1"))
		storeNoErr(t, "revoke refresh again", h.store.RevokeRefreshToken(h.ctx, "grant-1"))
		storeNoErr(t, "revoke an unknown grant", h.store.RevokeAccessToken(h.ctx, "grant-unknown"))
		storeNoErr(t, "revoke refresh of an unknown grant", h.store.RevokeRefreshToken(h.ctx, "grant-unknown"))
	})
	t.Run("ok/revoke-skips-deleted-tokens", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		h.grant("grant-1", []string{"at1", "at2"}, "rt1")
		storeNoErr(t, "delete at1", h.store.DeleteAccessTokenSession(h.ctx, "at1"))
		storeNoErr(t, "revoke access", h.store.RevokeAccessToken(h.ctx, "grant-1"))
		h.wantActive("at", "at2", false)
	})
	t.Run("ok/rotation-and-reuse-detection", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		h.grant("grant-1", []string{"at1"}, "rt1")

		storeNoErr(t, "rotate rt1", h.store.RotateRefreshToken(h.ctx, "grant-1", "rt1"))
		h.wantActive("rt", "rt1", false) // kept, inactive, so that reuse is recognised
		h.wantActive("at", "at1", false) // the previous access token goes inactive after a refresh
		h.grant("grant-1", []string{"at2"}, "rt2")
		h.wantActive("rt", "rt2", true)

		// rt1 presented again: fosite sees ErrInactiveToken with the request, and revokes the grant.
		req, err := h.store.GetRefreshTokenSession(h.ctx, "rt1", nil)
		storeWantErr(t, "reuse of rt1", err, fosite.ErrInactiveToken)
		storeWantErr(t, "rotate rt1 again", h.store.RotateRefreshToken(h.ctx, "grant-1", "rt1"), fosite.ErrInactiveToken)
		h.wantActive("rt", "rt2", true) // a failed rotation changes nothing
		storeNoErr(t, "revoke refresh", h.store.RevokeRefreshToken(h.ctx, req.GetID()))
		storeNoErr(t, "revoke access", h.store.RevokeAccessToken(h.ctx, req.GetID()))
		h.wantActive("rt", "rt2", false)
		h.wantActive("at", "at2", false)
	})
	t.Run("fail/rotate-unknown", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeWantErr(t, "rotate", h.store.RotateRefreshToken(h.ctx, "grant-x", "nope"), fosite.ErrNotFound)
	})
}

func testStoreConcurrency(t *testing.T, newKV func(t *testing.T) storage.KV) {
	t.Run("ok/code-invalidation-one-of-20", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		storeNoErr(t, "create", h.store.CreateAuthorizeCodeSession(h.ctx, "code", h.request("r", storeSession("alice", time.Hour))))
		errs := storeRace(20, func(int) error { return h.store.InvalidateAuthorizeCodeSession(h.ctx, "code") })
		storeOneWins(t, "concurrent code redemption", errs, fosite.ErrInvalidatedAuthorizeCode)
	})
	for _, n := range []int{2, 20} {
		t.Run(fmt.Sprintf("ok/rotation-one-of-%d", n), func(t *testing.T) {
			h := newStoreHarness(t, newKV)
			h.grant("grant-1", []string{"at1"}, "rt1")
			errs := storeRace(n, func(int) error { return h.store.RotateRefreshToken(h.ctx, "grant-1", "rt1") })
			storeOneWins(t, "parallel rotation", errs, fosite.ErrInactiveToken)
			h.wantActive("rt", "rt1", false)
			h.wantActive("at", "at1", false)
		})
	}
	t.Run("ok/rotations-of-different-grants-all-win", func(t *testing.T) {
		h := newStoreHarness(t, newKV)
		const n = 10
		for i := range n {
			h.grant(fmt.Sprintf("grant-%d", i), []string{fmt.Sprintf("at-%d", i)}, fmt.Sprintf("rt-%d", i))
		}
		errs := storeRace(n, func(i int) error {
			return h.store.RotateRefreshToken(h.ctx, fmt.Sprintf("grant-%d", i), fmt.Sprintf("rt-%d", i))
		})
		for i, err := range errs {
			storeNoErr(t, fmt.Sprintf("rotation %d", i), err)
		}
	})
}
