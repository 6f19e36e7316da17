package exchange

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/actas-dev/actas/storage"
)

// TestStorageOutage: whatever step meets an unreachable store, the answer is 503 and nothing is
// issued; a representation the request opened is aborted.
func TestStorageOutage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		prefix  string
		form    func(e *env) (string, string) // actor token and its type
		aborted bool
	}{
		{name: "fail/token-lookup", prefix: "tok:", form: func(e *env) (string, string) { return e.agentToken("u-sam"), TokenTypeAccessToken }},
		{name: "fail/user-lookup", prefix: "user:", form: func(e *env) (string, string) { return e.agentToken("u-sam"), TokenTypeAccessToken }},
		{name: "fail/token-store-after-start", prefix: "tok:", aborted: true,
			form: func(e *env) (string, string) { return e.idToken(nil, nil), TokenTypeIDToken }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			actor, typ := tt.form(e)
			e.kv.prefix.Store(&tt.prefix)
			f := impForm(actor, "u-bob")
			f.Set("actor_token_type", typ)
			r := e.exchange(f)
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable", "nothing was issued")
			e.reps.mu.Lock()
			aborted := slices.Clone(e.reps.aborted)
			e.reps.mu.Unlock()
			if tt.aborted != (len(aborted) == 1) {
				t.Fatalf("aborted %v, want aborted=%v", aborted, tt.aborted)
			}
			if ev := e.audit.last(); ev.Type != EventDenied || ev.Error != "temporarily_unavailable" {
				t.Fatalf("audit %+v", ev)
			}
		})
	}
}

// TestRefreshGuard: refresh is refused once the representation has ended, and an outage stays an
// outage (503), never a refusal.
func TestRefreshGuard(t *testing.T) {
	t.Parallel()
	reps := newFakeReps()
	rep, err := reps.Start(context.Background(), StartRequest{Actor: "a", Target: "b", TTL: 1e9})
	if err != nil {
		t.Fatal(err)
	}
	guard := RefreshGuard(reps)
	s := (&env{}).sessionWithSID(rep.ID)
	if err := guard(context.Background(), s); err != nil {
		t.Fatalf("ok/active: %v", err)
	}
	if err := guard(context.Background(), (&env{}).sessionWithSID("")); err != nil {
		t.Fatalf("ok/no-representation: %v", err)
	}
	reps.end(rep.ID)
	if err := guard(context.Background(), s); ReasonCode(err) != CodeRepresentationEnded {
		t.Fatalf("fail/ended: %v", err)
	}
	if err := RefreshGuard(nil)(context.Background(), s); ReasonCode(err) != CodeRepresentationEnded {
		t.Fatalf("fail/no-service: %v", err)
	}
	down := RefreshGuard(outageReps{})
	if err := down(context.Background(), s); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("fail/outage: %v", err)
	}
}

type outageReps struct{ DenyRepresentations }

func (outageReps) Active(context.Context, string) error { return storage.ErrUnavailable }
