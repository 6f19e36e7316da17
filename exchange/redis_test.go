package exchange

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"testing"
)

// TestOnRedis runs the flows that touch storage the most on the Redis backend: verification
// against stored and revoked tokens, impersonation, refresh within the representation, and the
// refusals once it has ended.
func TestOnRedis(t *testing.T) {
	t.Parallel()
	t.Run("ok/representation-bounds", func(t *testing.T) {
		t.Parallel()
		testRepresentationBounds(t, onRedis)
	})
	t.Run("ok/delegation-then-revoked-subject", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, onRedis)
		subj := e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"orders:read"}})
		r := e.exchange(delegationForm(e, e.agentToken("u-sam"), TokenTypeAccessToken))
		wantOK(t, r)
		if c := claimsOf(t, r.str("access_token")); !reflect.DeepEqual(c["act"], map[string]any{"sub": "u-sam"}) {
			t.Fatalf("act %v", c["act"])
		}
		if err := e.store.RevokeAccessToken(context.Background(), subj.requestID); err != nil {
			t.Fatal(err)
		}
		r = e.exchange(url.Values{"subject_token": {subj.access}, "subject_token_type": {TokenTypeAccessToken}})
		wantError(t, r, http.StatusBadRequest, "invalid_request", "revoked")
	})
}
