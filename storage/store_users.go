package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	usersKey         = "users"
	defaultPageLimit = 100
	maxPageLimit     = 1000
)

func userKey(id string) string { return "user:{" + id + "}" }

// usernameKey indexes users by username, case-insensitively.
func usernameKey(username string) string { return "username:{" + normUsername(username) + "}" }

func normUsername(u string) string { return strings.ToLower(strings.TrimSpace(u)) }

// UpsertUser writes u (no expiry: users are seeded from configuration). Usernames are unique
// regardless of case: a username held by another user gives ErrConflict. Renaming a user frees
// the old username.
func (s *Store) UpsertUser(ctx context.Context, u *User) error {
	if u == nil || u.ID == "" || normUsername(u.Username) == "" {
		return errors.New("storage: upsert user: empty id or username")
	}
	raw, err := json.Marshal(u)
	if err != nil {
		return fmt.Errorf("storage: encode user %q: %w", u.ID, err)
	}
	old, err := s.GetUser(ctx, u.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if err := s.claimUsername(ctx, u.Username, u.ID); err != nil {
		return err
	}
	if err := s.kv.SetAdd(ctx, usersKey, 0, u.ID); err != nil {
		return fmt.Errorf("storage: list user %q: %w", u.ID, err)
	}
	if old == nil {
		s.forgetUserIDs()
	}
	if err := s.kv.Set(ctx, userKey(u.ID), raw, 0); err != nil {
		return fmt.Errorf("storage: upsert user %q: %w", u.ID, err)
	}
	if old != nil && normUsername(old.Username) != normUsername(u.Username) {
		if err := s.releaseUsername(ctx, old.Username, u.ID); err != nil {
			return err
		}
	}
	return nil
}

// claimUsername points the username at id, unless another user holds it.
func (s *Store) claimUsername(ctx context.Context, username, id string) error {
	key := usernameKey(username)
	err := s.kv.Create(ctx, key, []byte(id), 0)
	if !errors.Is(err, ErrConflict) {
		if err != nil {
			return fmt.Errorf("storage: claim username of user %q: %w", id, err)
		}
		return nil
	}
	holder, err := s.kv.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("storage: claim username of user %q: %w", id, err)
	}
	if string(holder) != id {
		return fmt.Errorf("storage: username of user %q is taken by another user: %w", id, ErrConflict)
	}
	return nil
}

// releaseUsername removes the username index entry if it still points at id.
func (s *Store) releaseUsername(ctx context.Context, username, id string) error {
	err := s.kv.CompareAndDelete(ctx, usernameKey(username), []byte(id))
	if err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("storage: release username of user %q: %w", id, err)
	}
	return nil
}

// GetUser returns the user with id, or ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (*User, error) {
	raw, err := s.kv.Get(ctx, userKey(id))
	if err != nil {
		return nil, fmt.Errorf("storage: get user %q: %w", id, err)
	}
	if u, ok := s.users.get(id, raw); ok {
		return u, nil
	}
	var u User
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, fmt.Errorf("storage: decode user %q: %w", id, err)
	}
	s.users.put(id, raw, &u)
	return &u, nil
}

// GetUserByUsername returns the user whose username equals username ignoring case and surrounding
// space, or ErrNotFound. Callers must bound the input's length before calling.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*User, error) {
	if normUsername(username) == "" {
		return nil, fmt.Errorf("storage: get user by empty username: %w", ErrNotFound)
	}
	id, err := s.kv.Get(ctx, usernameKey(username))
	if err != nil {
		return nil, fmt.Errorf("storage: get user by username: %w", err)
	}
	u, err := s.GetUser(ctx, string(id))
	if err != nil {
		return nil, err
	}
	if normUsername(u.Username) != normUsername(username) {
		// A stale index entry left by an interrupted rename.
		return nil, fmt.Errorf("storage: get user by username: %w", ErrNotFound)
	}
	return u, nil
}

// ListUsers returns up to limit users ordered by id, starting after the id cursor ("" for the first
// page), and the cursor of the next page ("" when there is none). limit ≤ 0 means 100; it is capped
// at 1000.
func (s *Store) ListUsers(ctx context.Context, cursor string, limit int) ([]*User, string, error) {
	if limit <= 0 {
		limit = defaultPageLimit
	}
	limit = min(limit, maxPageLimit)
	ids, err := s.sortedUserIDs(ctx)
	if err != nil {
		return nil, "", err
	}
	start, _ := slices.BinarySearch(ids, cursor)
	if start < len(ids) && ids[start] == cursor {
		start++
	}
	out := make([]*User, 0, min(limit, len(ids)-start))
	i := start
	for ; i < len(ids) && len(out) < limit; i++ {
		u, err := s.GetUser(ctx, ids[i])
		if errors.Is(err, ErrNotFound) {
			continue // listed but deleted concurrently
		}
		if err != nil {
			return nil, "", err
		}
		out = append(out, u)
	}
	next := ""
	if i < len(ids) && len(out) > 0 {
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// DeleteUser removes a user and frees its username (used when configuration no longer lists the
// user). A missing user is not an error.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	u, err := s.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := s.kv.Delete(ctx, userKey(id)); err != nil {
		return fmt.Errorf("storage: delete user %q: %w", id, err)
	}
	if err := s.releaseUsername(ctx, u.Username, id); err != nil {
		return err
	}
	if err := s.kv.SetRemove(ctx, usersKey, id); err != nil {
		return fmt.Errorf("storage: unlist user %q: %w", id, err)
	}
	s.forgetUserIDs()
	return nil
}

// userIDList is the sorted set of user ids, read at most once per userIDsTTL: paging through the
// users (the representable-users list reads up to 20 pages per request) would otherwise read and
// sort the whole set once per page. Users change with the configuration; a page may lag behind a
// change made by another replica for userIDsTTL (each listed user is still read fresh, and one
// deleted meanwhile is skipped). This replica's own changes drop the list at once.
type userIDList struct {
	mu   sync.Mutex
	ids  []string // sorted; shared read-only by callers
	read time.Time
}

const userIDsTTL = 5 * time.Second

// sortedUserIDs returns the sorted user ids (never to be modified by the caller).
func (s *Store) sortedUserIDs(ctx context.Context) ([]string, error) {
	l := &s.userIDs
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ids != nil && time.Since(l.read) < userIDsTTL {
		return l.ids, nil
	}
	ids, err := s.kv.SetMembers(ctx, usersKey)
	if err != nil {
		return nil, fmt.Errorf("storage: list users: %w", err)
	}
	slices.Sort(ids)
	if ids == nil {
		ids = []string{}
	}
	l.ids, l.read = ids, time.Now()
	return ids, nil
}

// forgetUserIDs drops the cached list after a change made through this Store.
func (s *Store) forgetUserIDs() {
	s.userIDs.mu.Lock()
	s.userIDs.ids = nil
	s.userIDs.mu.Unlock()
}
