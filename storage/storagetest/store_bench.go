package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/actas-dev/actas/storage"
)

// RunBenchmarks measures the Store's hot paths on the KV that newKV returns: issuing and looking
// up an access token (what every token request and every introspection costs in storage), and a
// refresh (rotation plus the new token pair).
func RunBenchmarks(b *testing.B, newKV func(tb testing.TB) storage.KV) {
	setup := func(b *testing.B) (*storage.Store, fosite.Requester) {
		s := storage.NewStore(newKV(b), storage.StoreOptions{})
		c := storeClient()
		if err := s.UpsertClient(b.Context(), c); err != nil {
			b.Fatal(err)
		}
		r := fosite.NewRequest()
		r.Client = c
		r.GrantedScope = fosite.Arguments{"openid", "offline"}
		r.Session = storeSession("alice", time.Hour)
		return s, r
	}
	b.Run("access-token/create+get", func(b *testing.B) {
		s, r := setup(b)
		ctx := b.Context()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			sig := fmt.Sprintf("at-%d", i)
			r.SetID(fmt.Sprintf("req-%d", i))
			i++
			if err := s.CreateAccessTokenSession(ctx, sig, r); err != nil {
				b.Fatal(err)
			}
			if _, err := s.GetAccessTokenSession(ctx, sig, &openid.DefaultSession{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refresh/rotate+create-pair", func(b *testing.B) {
		s, r := setup(b)
		ctx := b.Context()
		r.SetID("req-0")
		if err := s.CreateRefreshTokenSession(ctx, "rt-0", "", r); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			prev, next := fmt.Sprintf("rt-%d", i), fmt.Sprintf("rt-%d", i+1)
			at := fmt.Sprintf("at-%d", i+1)
			i++
			if err := s.RotateRefreshToken(ctx, "req-0", prev); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateAccessTokenSession(ctx, at, r); err != nil {
				b.Fatal(err)
			}
			if err := s.CreateRefreshTokenSession(ctx, next, at, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
