package storage_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// countingKV counts SetMembers calls.
type countingKV struct {
	storage.KV
	reads atomic.Int64
}

func (k *countingKV) SetMembers(ctx context.Context, key string) ([]string, error) {
	k.reads.Add(1)
	return k.KV.SetMembers(ctx, key)
}

// TestListUsersReadsTheSetOnce: paging through the users reads the whole user set once (for a
// few seconds), not once per page (the representable-users list reads up to 20 pages per
// request); a user added or removed through the store is seen at once.
func TestListUsersReadsTheSetOnce(t *testing.T) {
	ctx := context.Background()
	kv := &countingKV{KV: memory.New()}
	s := storage.NewStore(kv, storage.StoreOptions{})
	for i := range 250 {
		if err := s.UpsertUser(ctx, &storage.User{ID: fmt.Sprintf("u-%03d", i), Username: fmt.Sprintf("user%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	seen, cursor := 0, ""
	for {
		users, next, err := s.ListUsers(ctx, cursor, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen += len(users)
		if cursor = next; cursor == "" {
			break
		}
	}
	if seen != 250 || kv.reads.Load() != 1 {
		t.Fatalf("%d users seen with %d reads of the user set, want 250 with 1", seen, kv.reads.Load())
	}
	if err := s.UpsertUser(ctx, &storage.User{ID: "u-999", Username: "late"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "u-000"); err != nil {
		t.Fatal(err)
	}
	users, _, err := s.ListUsers(ctx, "u-998", 10)
	if err != nil || len(users) != 1 || users[0].ID != "u-999" {
		t.Fatalf("after adding u-999: %v %v", users, err)
	}
	if users, _, _ := s.ListUsers(ctx, "", 1); users[0].ID != "u-001" {
		t.Fatalf("after deleting u-000 the first user is %s", users[0].ID)
	}
}
