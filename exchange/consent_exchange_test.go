package exchange

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// approvedRequest asks and approves (for duration, 0: as requested) and returns the id.
func (c *consentEnv) approvedRequest(agent, target string, duration time.Duration) string {
	c.t.Helper()
	id := c.ask(c.agentAPIToken(agent), target)
	if _, err := c.svc.Approve(context.Background(), id, target, duration); err != nil {
		c.t.Fatal(err)
	}
	return id
}

func (c *consentEnv) state(id string) *AccessRequest {
	c.t.Helper()
	r, err := c.svc.Get(context.Background(), id)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// revokeAfterUse revokes the grant right after Use marked it used: the target's revocation wins
// the race against the exchange's Attach.
type revokeAfterUse struct{ *ConsentService }

func (r revokeAfterUse) Use(ctx context.Context, agent, target, reason, ticket string) (ConsentGrant, error) {
	g, err := r.ConsentService.Use(ctx, agent, target, reason, ticket)
	if err == nil {
		_, err = r.Revoke(ctx, g.ID, target)
	}
	return g, err
}

// TestConsentInExchange: when the policy requires consent, the impersonation exchange needs an
// approved, unexpired, unused grant with the same reason and ticket; the token and the
// representation carry its id; it is usable for one representation.
func TestConsentInExchange(t *testing.T) {
	t.Parallel()

	t.Run("fail/no-consent", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		r := c.exchange(impForm(c.agentToken("u-sam"), "u-bob"))
		wantError(t, r, http.StatusBadRequest, "invalid_request", "[reason="+CodeConsentRequired+"]")
		wantError(t, r, http.StatusBadRequest, "invalid_request", "POST /api/v1/access-requests")
		if len(c.reps.backing.starts) != 0 {
			t.Fatal("a representation was started without consent")
		}
	})

	t.Run("fail/pending", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		id := c.ask(c.agentAPIToken("u-sam"), "u-bob")
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", "has not answered the access request '"+id+"'")
	})

	t.Run("fail/other-purpose", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		id := c.approvedRequest("u-sam", "u-bob", 0)
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob", "ticket", "SUP-43")), http.StatusBadRequest,
			"invalid_request", "different reason or ticket")
		if c.state(id).State != ConsentApproved {
			t.Fatal("a mismatching exchange consumed the grant")
		}
	})

	t.Run("ok/once-then-join-then-ended", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		id := c.approvedRequest("u-sam", "u-bob", 20*time.Minute)
		r := c.exchange(impForm(c.agentToken("u-sam"), "u-bob"))
		wantOK(t, r)
		claims := claimsOf(t, r.str("access_token"))
		sid, _ := claims["sid"].(string)
		if claims[ClaimConsentID] != id || sid == "" {
			t.Fatalf("claims %v", claims)
		}
		c.reps.backing.mu.Lock()
		start := c.reps.backing.starts[0]
		c.reps.backing.mu.Unlock()
		if start.ConsentID != id || start.TTL > 20*time.Minute || start.TTL < 19*time.Minute {
			t.Fatalf("start %+v", start)
		}
		if g := c.state(id); g.State != ConsentUsed || g.RepresentationID != sid {
			t.Fatalf("grant %+v", g)
		}
		if ev := c.audit.last(); ev.Type != EventGranted || ev.ConsentID != id {
			t.Fatalf("granted event %+v", ev)
		}
		// The same agent, target and purpose join the grant's own active representation.
		r = c.exchange(impForm(c.agentToken("u-sam"), "u-bob", "audience", ordersAPI))
		wantOK(t, r)
		if c2 := claimsOf(t, r.str("access_token")); c2["sid"] != sid || c2[ClaimConsentID] != id {
			t.Fatalf("joined claims %v", c2)
		}
		// Once it has ended, the used grant does not start another one.
		c.reps.backing.end(sid)
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", "[reason="+CodeConsentRequired+"]")
	})

	t.Run("ok/revoke-ends-representation", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		id := c.approvedRequest("u-sam", "u-bob", 0)
		r := c.exchange(impForm(c.agentToken("u-sam"), "u-bob"))
		wantOK(t, r)
		tok := r.str("access_token")
		sid := claimsOf(t, tok)["sid"].(string)
		if st, body := c.call("POST", "/api/v1/me/consents/"+id+"/revoke", c.userToken("u-bob"), ""); st != 200 || body["state"] != ConsentRevoked {
			t.Fatalf("revoke: %d %v", st, body)
		}
		if s := c.reps.stops(); !slices.Equal(s, []string{sid + " u-bob " + EndStoppedByTarget}) {
			t.Fatalf("stops %v", s)
		}
		// The impersonation token no longer works as a subject token: its representation ended.
		wantError(t, c.exchange(map[string][]string{"subject_token": {tok}, "subject_token_type": {TokenTypeAccessToken}}),
			http.StatusBadRequest, "invalid_request", CodeRepresentationEnded)
	})

	t.Run("ok/failed-start-releases-grant", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		id := c.approvedRequest("u-sam", "u-bob", 0)
		c.reps.backing.mu.Lock()
		c.reps.backing.startErr = &ActiveRepresentationError{ID: "rep-other", Target: "u-alice", Since: time.Now()}
		c.reps.backing.mu.Unlock()
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", CodeActiveRepresentation)
		if g := c.state(id); g.State != ConsentApproved {
			t.Fatalf("grant %s after a failed start", g.State)
		}
		c.reps.backing.mu.Lock()
		c.reps.backing.startErr = nil
		c.reps.backing.mu.Unlock()
		wantOK(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")))
	})

	t.Run("ok/past-consent-without-representations", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t, withOptions(func(o *Options) { o.Representations = DenyRepresentations{} }))
		id := c.approvedRequest("u-sam", "u-bob", 0)
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", CodeRepresentationsUnavailable)
		if g := c.state(id); g.State != ConsentApproved {
			t.Fatalf("grant %s", g.State)
		}
	})

	t.Run("fail/revoked-before-attach", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		c.env.h.o.Consents = revokeAfterUse{c.svc}
		id := c.approvedRequest("u-sam", "u-bob", 0)
		wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", "revoked their consent")
		c.reps.backing.mu.Lock()
		aborted := len(c.reps.backing.aborted)
		c.reps.backing.mu.Unlock()
		if aborted != 1 || c.state(id).State != ConsentRevoked {
			t.Fatalf("aborted %d, state %s", aborted, c.state(id).State)
		}
	})

	t.Run("ok/no-consent-needed", func(t *testing.T) {
		t.Parallel()
		c := newConsentEnv(t)
		// u-sue is not a customer: the policy requires no consent for her... but she is a
		// super_admin, whom support may not impersonate. Use an admin actor on a support target.
		r := c.exchange(impForm(c.agentToken("u-ada"), "u-sam"))
		wantOK(t, r)
		if _, ok := claimsOf(t, r.str("access_token"))[ClaimConsentID]; ok {
			t.Fatal("consent id without consent")
		}
	})
}

func TestConsentMissingHints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  *ConsentMissingError
		want string
	}{
		{"ok/none", &ConsentMissingError{}, "POST /api/v1/access-requests"},
		{"ok/pending", &ConsentMissingError{Pending: "abc"}, "'abc'"},
		{"ok/mismatch", &ConsentMissingError{Mismatch: true}, "different reason or ticket"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.err.hint(), tc.want) {
				t.Fatalf("%q", tc.err.hint())
			}
		})
	}
}
