package main

import (
	"context"
	"fmt"
	"time"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// seed writes the configured clients and users into storage (clients' secrets only as keyed
// hashes) and removes the clients and users that are no longer configured.
func seed(ctx context.Context, store *storage.Store, cfg *config.Config, hasher *oauth.SecretHasher) error {
	want := map[string]bool{}
	for i, c := range cfg.Clients {
		sc := &storage.Client{
			ID: c.ID, Name: c.Name, Public: c.Public,
			RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs,
			BackchannelLogoutURI: c.BackchannelLogoutURI, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
			Audience: c.Audience, FirstParty: c.FirstParty, IDTokenSigningAlg: c.IDTokenSigningAlg,
			ExchangeFor: c.ExchangeFor, HandoffURIs: c.HandoffURIs,
			Lifespans: map[string]time.Duration{},
		}
		if c.Lifespans.AccessToken > 0 {
			sc.Lifespans["access_token"] = c.Lifespans.AccessToken
		}
		if c.Lifespans.RefreshToken > 0 {
			sc.Lifespans["refresh_token"] = c.Lifespans.RefreshToken
		}
		if c.Lifespans.IDToken > 0 {
			sc.Lifespans["id_token"] = c.Lifespans.IDToken
		}
		if !c.Public {
			h, err := hasher.Hash(ctx, []byte(c.Secret))
			if err != nil {
				return fmt.Errorf("clients[%d].secret: %w", i, err)
			}
			sc.SecretHash = h
		}
		if err := store.UpsertClient(ctx, sc); err != nil {
			return fmt.Errorf("seed clients[%d] %q: %w", i, c.ID, err)
		}
		want[c.ID] = true
	}
	existing, err := store.ListClients(ctx)
	if err != nil {
		return fmt.Errorf("seed: list clients: %w", err)
	}
	for _, c := range existing {
		if !want[c.ID] {
			if err := store.DeleteClient(ctx, c.ID); err != nil {
				return fmt.Errorf("seed: delete client %q: %w", c.ID, err)
			}
		}
	}
	for i, u := range cfg.Users {
		su := &storage.User{
			ID: u.ID, Username: u.Username, Email: u.Email, EmailVerified: u.EmailVerified, Name: u.Name,
			Roles: u.Roles, Tenant: u.Tenant, ImpersonationAllowed: u.ImpersonationAllowed,
			PasswordHash: u.PasswordHash, TOTPSecret: u.TOTPSecret, Disabled: u.Disabled,
		}
		if err := store.UpsertUser(ctx, su); err != nil {
			return fmt.Errorf("seed users[%d] %q: %w", i, u.ID, err)
		}
	}
	return dropUnlistedUsers(ctx, store, cfg.Users)
}

// dropUnlistedUsers removes the stored users that the configuration no longer lists (users come
// from the configuration only): a user taken out of the file can no longer sign in or use tokens
// that need the user (userinfo, actas's API, exchanges, refresh).
func dropUnlistedUsers(ctx context.Context, store *storage.Store, users []config.User) error {
	want := make(map[string]bool, len(users))
	for _, u := range users {
		want[u.ID] = true
	}
	var gone []string
	for cursor := ""; ; {
		page, next, err := store.ListUsers(ctx, cursor, 1000)
		if err != nil {
			return fmt.Errorf("seed: list users: %w", err)
		}
		for _, u := range page {
			if !want[u.ID] {
				gone = append(gone, u.ID)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	for _, id := range gone {
		if err := store.DeleteUser(ctx, id); err != nil {
			return fmt.Errorf("seed: delete user %q: %w", id, err)
		}
	}
	return nil
}
