package main

import (
	"context"
	"errors"
	"testing"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// TestSeedDropsUnlisted: a user or client taken out of the configuration is gone from storage at
// the next start (its username freed), while the listed ones stay.
func TestSeedDropsUnlisted(t *testing.T) {
	ctx := context.Background()
	store := storage.NewStore(memory.New(), storage.StoreOptions{})
	hasher := oauth.NewSecretHasher([]byte("0123456789abcdef0123456789abcdef"))
	cfg := config.Dev()
	if err := seed(ctx, store, cfg, hasher); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetUserByUsername(ctx, "bob"); err != nil {
		t.Fatalf("bob after the first start: %v", err)
	}
	var kept []config.User
	for _, u := range cfg.Users {
		if u.Username != "bob" {
			kept = append(kept, u)
		}
	}
	cfg.Users = kept
	cfg.Clients = cfg.Clients[1:]
	if err := seed(ctx, store, cfg, hasher); err != nil {
		t.Fatal(err)
	}
	if _, err := store.GetUser(ctx, "u-bob"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("bob after he was taken out of the configuration: %v, want not found", err)
	}
	if _, err := store.GetUserByUsername(ctx, "bob"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("bob's username after: %v, want not found", err)
	}
	if _, err := store.GetUser(ctx, "u-alice"); err != nil {
		t.Fatalf("alice, still listed: %v", err)
	}
	if _, err := store.GetClient(ctx, config.DemoSPAClientID); err == nil {
		t.Fatal("the client taken out of the configuration is still stored")
	}
}
