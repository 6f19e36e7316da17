package exchange

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/policy"
)

// lateConsents lets the env build the grant before the consent service (which needs the store).
type lateConsents struct{ Consents }

// consentEnv is the exchange env with the consent workflow wired: the policy requires consent for
// customers, the API and page are mounted on the env's mux.
type consentEnv struct {
	*env
	svc   *ConsentService
	reps  *fakeConsentReps
	login *pageLogin
}

func newConsentEnv(t testing.TB, opts ...envOpt) *consentEnv {
	t.Helper()
	late := &lateConsents{}
	r := permissiveRules()
	r.ConsentRequired.Roles = []string{"customer"}
	engine, err := policy.New(r)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]envOpt{withOptions(func(o *Options) { o.Consents, o.Decider = late, engine })}, opts...)
	e := newEnv(t, opts...)
	c := &consentEnv{env: e, reps: newFakeConsentReps(), login: newPageLogin()}
	c.reps.backing = e.reps
	c.svc, err = NewConsentService(ConsentOptions{Store: e.store, Issuer: e.issuer, Login: c.login, Policy: engine,
		Representations: c.reps, Audit: e.audit, Logger: e.options.Logger})
	if err != nil {
		t.Fatal(err)
	}
	late.Consents = c.svc
	c.svc.Routes(e.mux, e.prov)
	return c
}

// agentAPIToken is a support agent's token for actas's API (scope actas:impersonate).
func (c *consentEnv) agentAPIToken(sub string) string {
	return c.mint(mint{client: "console", sub: sub, scopes: []string{"openid", APIScope}, amr: []string{"pwd", "otp"},
		authTime: time.Now().Add(-time.Minute)}).access
}

// userToken is a customer's own token from the SPA (audience: actas).
func (c *consentEnv) userToken(sub string) string {
	return c.mint(mint{client: "spa", sub: sub, scopes: []string{"openid"}}).access
}

// call sends a request to the env's mux and decodes the JSON answer.
func (c *consentEnv) call(method, path, token, body string) (int, map[string]any) {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	c.mux.ServeHTTP(rec, req)
	out := map[string]any{}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); rec.Body.Len() > 0 && err != nil {
		c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

const testPurpose = `"reason":"customer called about order 42","ticket":"SUP-42"`

// ask creates a request of the agent's token for target and returns its id.
func (c *consentEnv) ask(agentTok, target string) string {
	c.t.Helper()
	st, body := c.call(http.MethodPost, "/api/v1/access-requests", agentTok, `{"target":"`+target+`",`+testPurpose+`}`)
	if st != http.StatusCreated {
		c.t.Fatalf("request: %d %v", st, body)
	}
	return body["id"].(string)
}

func TestConsentAPI(t *testing.T) {
	t.Parallel()
	c := newConsentEnv(t)
	sam, ada, bob, alice := c.agentAPIToken("u-sam"), c.agentAPIToken("u-ada"), c.userToken("u-bob"), c.userToken("u-alice")
	samNoScope := c.mint(mint{client: "console", sub: "u-sam", scopes: []string{"openid"}}).access
	client := c.mint(mint{client: "svc", sub: "svc", scopes: []string{APIScope}}).access
	// A token carrying act (an agent acting as bob) is never accepted as bob.
	actingAsBob := c.mint(mint{client: "console", sub: "u-bob", scopes: []string{"openid", APIScope},
		act: &oauth.Actor{Subject: "u-sam"}, sid: "rep-x"}).access

	id := c.ask(sam, "u-bob")
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code, state                     string
	}{
		{"fail/no-token", "POST", "/api/v1/access-requests", "", `{"target":"u-bob"}`, 401, "", ""},
		{"fail/agent-without-scope", "POST", "/api/v1/access-requests", samNoScope, `{"target":"u-alice",` + testPurpose + `}`, 403, "insufficient_scope", ""},
		{"fail/client-token", "POST", "/api/v1/access-requests", client, `{"target":"u-alice",` + testPurpose + `}`, 403, "access_denied", ""},
		{"fail/second-pending", "POST", "/api/v1/access-requests", sam, `{"target":"u-bob",` + testPurpose + `}`, 409, "conflict", ""},
		{"fail/unknown-field", "POST", "/api/v1/access-requests", sam, `{"target":"u-alice","reason":"x long enough","tenant":"y"}`, 400, "invalid_request", ""},
		{"fail/bad-duration", "POST", "/api/v1/access-requests", sam, `{"target":"u-alice",` + testPurpose + `,"duration":"soon"}`, 400, "invalid_request", ""},
		{"fail/unknown-target", "POST", "/api/v1/access-requests", sam, `{"target":"u-nobody",` + testPurpose + `}`, 404, "not_found", ""},
		{"fail/opted-out-target", "POST", "/api/v1/access-requests", sam, `{"target":"u-dave",` + testPurpose + `}`, 403, "access_denied", ""},
		{"fail/act-token-approves", "POST", "/api/v1/me/access-requests/" + id + "/approve", actingAsBob, "", 403, "invalid_token", ""},
		{"fail/agent-approves-own", "POST", "/api/v1/me/access-requests/" + id + "/approve", sam, "", 404, "not_found", ""},
		{"fail/other-user-approves", "POST", "/api/v1/me/access-requests/" + id + "/approve", alice, "", 404, "not_found", ""},
		{"fail/other-agent-withdraws", "POST", "/api/v1/access-requests/" + id + "/withdraw", ada, "", 404, "not_found", ""},
		{"fail/other-user-reads", "GET", "/api/v1/access-requests/" + id, alice, "", 404, "not_found", ""},
		{"fail/approve-with-purpose", "POST", "/api/v1/me/access-requests/" + id + "/approve", bob, `{"reason":"other"}`, 400, "invalid_request", ""},
		{"ok/target-reads", "GET", "/api/v1/access-requests/" + id, bob, "", 200, "", ConsentPending},
		{"ok/agent-reads", "GET", "/api/v1/access-requests/" + id, sam, "", 200, "", ConsentPending},
		{"ok/admin-reads", "GET", "/api/v1/access-requests/" + id, ada, "", 200, "", ConsentPending},
		{"fail/bad-state-filter", "GET", "/api/v1/me/access-requests?state=maybe", bob, "", 400, "invalid_request", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body := c.call(tc.method, tc.path, tc.token, tc.body)
			if st != tc.status || (tc.code != "" && body["error"] != tc.code) || (tc.state != "" && body["state"] != tc.state) {
				t.Fatalf("got %d %v, want %d %q %q", st, body, tc.status, tc.code, tc.state)
			}
		})
	}

	t.Run("ok/flow", func(t *testing.T) {
		st, body := c.call("GET", "/api/v1/me/access-requests?state=pending", bob, "")
		list, _ := body["access_requests"].([]any)
		if st != 200 || len(list) != 1 || list[0].(map[string]any)["id"] != id ||
			list[0].(map[string]any)["agent_name"] != "sam" || list[0].(map[string]any)["reason"] != "customer called about order 42" {
			t.Fatalf("me list: %d %v", st, body)
		}
		st, body = c.call("POST", "/api/v1/me/access-requests/"+id+"/approve", bob, `{"duration":"20m"}`)
		if st != 200 || body["state"] != ConsentApproved || body["duration_seconds"] != float64(1200) {
			t.Fatalf("approve: %d %v", st, body)
		}
		st, body = c.call("POST", "/api/v1/me/access-requests/"+id+"/decline", bob, "")
		if st != 409 || body["error"] != "conflict" || body["state"] != ConsentApproved {
			t.Fatalf("decline after approve: %d %v", st, body)
		}
		st, body = c.call("GET", "/api/v1/me/consents", bob, "")
		if list, _ := body["access_requests"].([]any); st != 200 || len(list) != 1 {
			t.Fatalf("consents: %d %v", st, body)
		}
		st, body = c.call("GET", "/api/v1/access-requests?state=approved", sam, "")
		if list, _ := body["access_requests"].([]any); st != 200 || len(list) != 1 {
			t.Fatalf("agent list: %d %v", st, body)
		}
		st, body = c.call("POST", "/api/v1/me/consents/"+id+"/revoke", bob, "")
		if st != 200 || body["state"] != ConsentRevoked {
			t.Fatalf("revoke: %d %v", st, body)
		}
		st, body = c.call("POST", "/api/v1/access-requests/"+id+"/withdraw", sam, "")
		if st != 409 || body["state"] != ConsentRevoked {
			t.Fatalf("withdraw revoked: %d %v", st, body)
		}
	})

	t.Run("ok/withdraw-then-ask-again", func(t *testing.T) {
		id := c.ask(sam, "u-alice")
		if st, body := c.call("POST", "/api/v1/access-requests/"+id+"/withdraw", sam, ""); st != 200 || body["state"] != ConsentWithdrawn {
			t.Fatalf("withdraw: %d %v", st, body)
		}
		if id2 := c.ask(sam, "u-alice"); id2 == id {
			t.Fatal("same id")
		}
	})

	t.Run("fail/storage-down", func(t *testing.T) {
		p := "rec:consent"
		c.kv.prefix.Store(&p)
		defer c.kv.prefix.Store(nil)
		st, body := c.call("GET", "/api/v1/access-requests/"+id, sam, "")
		if st != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
			t.Fatalf("got %d %v", st, body)
		}
	})
}

// TestConsentApproveWithdrawRace: the target approves while the agent withdraws, N times over
// HTTP on each backend; exactly one wins each round, the other gets 409 conflict, and the stored
// state is the winner's.
func TestConsentApproveWithdrawRace(t *testing.T) {
	t.Parallel()
	const rounds = 25
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var opts []envOpt
			if b.name == "redis" {
				opts = append(opts, onRedis)
			}
			c := newConsentEnv(t, opts...)
			sam, bob := c.agentAPIToken("u-sam"), c.userToken("u-bob")
			approvals := 0
			for i := range rounds {
				id := c.ask(sam, "u-bob")
				var wg sync.WaitGroup
				start := make(chan struct{})
				type answer struct {
					status int
					body   map[string]any
				}
				var ap, wd answer
				wg.Add(2)
				go func() {
					defer wg.Done()
					<-start
					ap.status, ap.body = c.call("POST", "/api/v1/me/access-requests/"+id+"/approve", bob, "")
				}()
				go func() {
					defer wg.Done()
					<-start
					wd.status, wd.body = c.call("POST", "/api/v1/access-requests/"+id+"/withdraw", sam, "")
				}()
				close(start)
				wg.Wait()
				var want string
				switch {
				case ap.status == 200 && wd.status == 409 && wd.body["error"] == "conflict" && wd.body["state"] == ConsentApproved:
					want, approvals = ConsentApproved, approvals+1
				case wd.status == 200 && ap.status == 409 && ap.body["error"] == "conflict" && ap.body["state"] == ConsentWithdrawn:
					want = ConsentWithdrawn
				default:
					t.Fatalf("round %d: approve %d %v, withdraw %d %v", i, ap.status, ap.body, wd.status, wd.body)
				}
				if r, err := c.svc.Get(t.Context(), id); err != nil || r.State != want {
					t.Fatalf("round %d: stored %+v %v, want %s", i, r, err, want)
				}
				if want == ConsentApproved { // free the slot for the next round's request
					if _, err := c.svc.Revoke(t.Context(), id, "u-bob"); err != nil {
						t.Fatal(err)
					}
				}
			}
			t.Logf("%s: %d of %d rounds won by the approval", b.name, approvals, rounds)
		})
	}
}

// TestConsentUseRace: many exchanges race for one approved grant; exactly one gets it.
func TestConsentUseRace(t *testing.T) {
	t.Parallel()
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f := newConsentFixture(t, b.kv(t))
			r := f.request("u-sam", "u-bob")
			if _, err := f.svc.Approve(t.Context(), r.ID, "u-bob", 0); err != nil {
				t.Fatal(err)
			}
			const n = 16
			var mu sync.Mutex
			wins := 0
			var wg sync.WaitGroup
			for range n {
				wg.Go(func() {
					g, err := f.svc.Use(t.Context(), "u-sam", "u-bob", r.Reason, r.Ticket)
					if err == nil && g.Fresh() {
						mu.Lock()
						wins++
						mu.Unlock()
					} else if err != nil && !isNoConsent(err) {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d exchanges used the grant", wins)
			}
		})
	}
}

func isNoConsent(err error) bool { return errors.Is(err, ErrNoConsent) }
