package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// TestDecodedCache: a token read again comes from the decoding cache, yet what one caller gets
// shares nothing with what the next gets, and a revocation is seen at once.
func TestDecodedCache(t *testing.T) {
	ctx := context.Background()
	s := storage.NewStore(memory.New(), storage.StoreOptions{NewSession: func() fosite.Session { return oauth.NewSession("") }})
	if err := s.UpsertClient(ctx, &storage.Client{ID: "c1", GrantTypes: []string{"client_credentials"}}); err != nil {
		t.Fatal(err)
	}
	sess := oauth.NewSession("u-alice")
	sess.Act = &oauth.Actor{Subject: "u-sam"}
	sess.Extra = map[string]any{"may_act": map[string]any{"sub": "u-sam"}}
	sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(time.Hour))
	req := &fosite.Request{ID: "req-1", RequestedAt: time.Now(), Client: &fosite.DefaultClient{ID: "c1"},
		GrantedScope: fosite.Arguments{"openid"}, Session: sess, Form: map[string][]string{}}
	if err := s.CreateAccessTokenSession(ctx, "sig-1", req); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := s.GetAccessTokenSession(ctx, "sig-1", oauth.NewSession(""))
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		gs := got.GetSession().(*oauth.Session)
		if gs.GetSubject() != "u-alice" || gs.Act == nil || gs.Act.Subject != "u-sam" || got.GetGrantedScopes()[0] != "openid" {
			t.Fatalf("read %d: subject %q act %+v scopes %v", i, gs.GetSubject(), gs.Act, got.GetGrantedScopes())
		}
		if m, _ := gs.Extra["may_act"].(map[string]any); m["sub"] != "u-sam" {
			t.Fatalf("read %d: may_act = %v", i, gs.Extra["may_act"])
		}
		// What a caller does with its copy must not reach the next one.
		gs.SetSubject("u-mallory")
		gs.Act.Subject = "u-mallory"
		gs.Extra["may_act"].(map[string]any)["sub"] = "u-mallory"
		got.GetGrantedScopes()[0] = "admin"
	}
	if err := s.RevokeAccessToken(ctx, "req-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetAccessTokenSession(ctx, "sig-1", oauth.NewSession("")); err == nil {
		t.Fatal("a revoked token was read from the cache")
	} else if !errors.Is(err, fosite.ErrNotFound) && !errors.Is(err, storage.ErrNotFound) && !errors.Is(err, fosite.ErrInactiveToken) {
		t.Fatalf("revoked token: err = %v", err)
	}
}

// TestUserCache: a user read again comes from the decoding cache, yet one caller's changes never
// reach the next, and an update or a deletion is seen at once.
func TestUserCache(t *testing.T) {
	ctx := context.Background()
	s := storage.NewStore(memory.New(), storage.StoreOptions{})
	u := &storage.User{ID: "u-sam", Username: "sam", Roles: []string{"support"}, ImpersonationAllowed: true}
	if err := s.UpsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		got, err := s.GetUser(ctx, "u-sam")
		if err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
		if got.Username != "sam" || len(got.Roles) != 1 || got.Roles[0] != "support" || got.Disabled {
			t.Fatalf("read %d: %+v", i, got)
		}
		got.Roles[0], got.Username, got.Disabled = "super_admin", "mallory", true
	}
	u.Disabled, u.Roles = true, []string{"customer"}
	if err := s.UpsertUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetUser(ctx, "u-sam")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Disabled || got.Roles[0] != "customer" {
		t.Fatalf("after an update: %+v", got)
	}
	if err := s.DeleteUser(ctx, "u-sam"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, "u-sam"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("after a deletion: err = %v", err)
	}
}
