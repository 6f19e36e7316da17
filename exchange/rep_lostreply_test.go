package exchange

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
	"github.com/actas-dev/actas/storage/memory"
)

// lostReplyKV applies the next WriteCreateAll but answers ErrUnavailable, as a timeout or a
// reset after Redis ran the script would.
type lostReplyKV struct {
	*memory.KV
	lose atomic.Bool
}

func (k *lostReplyKV) WriteCreateAll(ctx context.Context, w []storage.Write, e []storage.Entry) error {
	err := k.KV.WriteCreateAll(ctx, w, e)
	if err == nil && k.lose.CompareAndSwap(true, false) {
		return fmt.Errorf("redis: write-create-all: %w: i/o timeout", storage.ErrUnavailable)
	}
	return err
}

// TestRepStartLostReply: a start answered with an error whose writes were in fact applied leaves
// nothing behind: no lock refusing the agent's next start, no session without its pointer and
// index entries; the retry opens a session that every replica finds.
func TestRepStartLostReply(t *testing.T) {
	ctx := context.Background()
	kv := &lostReplyKV{KV: memory.New()}
	st := storage.NewStore(kv, storage.StoreOptions{})
	replica := func() *Service {
		s, err := NewService(ServiceOptions{KV: kv, Store: st, Issuer: "https://x", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if err := st.UpsertUser(ctx, &storage.User{ID: "agent", Username: "agent", Roles: []string{"support"}, ImpersonationAllowed: true}); err != nil {
		t.Fatal(err)
	}
	a, b := replica(), replica()
	req := StartRequest{Actor: "agent", Target: "bob", ClientID: "console", TTL: time.Hour, GrantID: "g1"}
	kv.lose.Store(true)
	if _, err := a.Start(ctx, req); err == nil {
		t.Fatal("the start with a lost reply succeeded")
	}
	if _, err := b.Current(ctx, "", "agent"); err == nil {
		t.Fatal("the failed start left the agent's lock behind")
	}
	rep, err := a.Start(ctx, req)
	if err != nil || rep.Joined {
		t.Fatalf("retry: %+v %v, want a new session", rep, err)
	}
	if err := b.Active(ctx, rep.ID); err != nil {
		t.Fatalf("the other replica does not find the retried session: %v", err)
	}
	if represented, err := b.IsRepresented(ctx, "bob"); err != nil || !represented {
		t.Fatalf("IsRepresented(bob) = %v, %v", represented, err)
	}
}
