package oauth

import (
	"context"
	"sync/atomic"
)

// revokeMarkKey carries a *atomic.Bool through a revocation request: fosite answers 200 whether or
// not the token existed (RFC 7009 §2.2), so the revocation endpoint learns from the storage calls
// whether anything was revoked, and reports (audits) only that.
type revokeMarkKey struct{}

// withRevokeMark returns ctx carrying a fresh mark, and the mark.
func withRevokeMark(ctx context.Context) (context.Context, *atomic.Bool) {
	m := new(atomic.Bool)
	return context.WithValue(ctx, revokeMarkKey{}, m), m
}

// markingStore is the Store fosite is composed with: it sets the request's revoke mark when a
// grant's tokens are revoked.
type markingStore struct{ Store }

func (s markingStore) RevokeAccessToken(ctx context.Context, requestID string) error {
	err := s.Store.RevokeAccessToken(ctx, requestID)
	markRevoked(ctx, err)
	return err
}

func (s markingStore) RevokeRefreshToken(ctx context.Context, requestID string) error {
	err := s.Store.RevokeRefreshToken(ctx, requestID)
	markRevoked(ctx, err)
	return err
}

func markRevoked(ctx context.Context, err error) {
	if m, ok := ctx.Value(revokeMarkKey{}).(*atomic.Bool); ok && err == nil {
		m.Store(true)
	}
}
