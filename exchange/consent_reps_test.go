package exchange

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/policy"
)

// lateReps lets the env build the grant before the representation service exists.
type lateReps struct{ Representations }

// newConsentEnvWithService is the consent env over the real representation service (issue 6).
func newConsentEnvWithService(t testing.TB, opts ...envOpt) (*consentEnv, *Service) {
	t.Helper()
	late, lr := &lateConsents{}, &lateReps{}
	r := permissiveRules()
	r.ConsentRequired.Roles = []string{"customer"}
	engine, err := policy.New(r)
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]envOpt{withOptions(func(o *Options) { o.Consents, o.Decider, o.Representations = late, engine, lr })}, opts...)
	e := newEnv(t, opts...)
	svc, err := NewService(ServiceOptions{KV: e.kv, Store: e.store, Issuer: e.issuer, Logger: e.options.Logger,
		Audit: e.audit, Auth: e.prov, Resweep: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = svc.Close(ctx)
	})
	lr.Representations = svc
	c := &consentEnv{env: e, login: newPageLogin()}
	c.svc, err = NewConsentService(ConsentOptions{Store: e.store, Issuer: e.issuer, Login: c.login, Policy: engine,
		Representations: ConsentReps(svc), Audit: e.audit, Logger: e.options.Logger})
	if err != nil {
		t.Fatal(err)
	}
	late.Consents = c.svc
	c.svc.Routes(e.mux, e.prov)
	return c, svc
}

// TestConsentWithRepresentationService follows the "Done when" in process, on each
// backend, with the real representation service: the agent requests, the customer approves on
// the account page, the agent impersonates, the customer ends it, the agent's token stops working.
func TestConsentWithRepresentationService(t *testing.T) {
	t.Parallel()
	for _, b := range consentBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			var opts []envOpt
			if b.name == "redis" {
				opts = append(opts, onRedis)
			}
			c, svc := newConsentEnvWithService(t, opts...)
			id := c.ask(c.agentAPIToken("u-sam"), "u-bob")
			cookie, csrf := c.login.login("u-bob")
			if rec := c.page(http.MethodPost, cookie, map[string][]string{"csrf": {csrf}, "action": {"approve"}, "id": {id}}, nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("approve on the page: %d %s", rec.Code, rec.Body.String())
			}
			r := c.exchange(impForm(c.agentToken("u-sam"), "u-bob"))
			wantOK(t, r)
			tok := r.str("access_token")
			sid, _ := claimsOf(t, tok)["sid"].(string)
			if in := c.introspect(tok); in["active"] != true || in["sid"] != sid {
				t.Fatalf("introspection %v", in)
			}
			rep, err := svc.Get(context.Background(), sid)
			if err != nil || rep.ConsentID != id {
				t.Fatalf("representation %+v %v", rep, err)
			}
			// The page lists the representation; the customer revokes the grant there.
			page := c.page(http.MethodGet, cookie, nil, nil).Body.String()
			if !strings.Contains(page, `data-representation-id="`+sid+`"`) {
				t.Fatalf("page does not show the representation: %s", page)
			}
			if rec := c.page(http.MethodPost, cookie, map[string][]string{"csrf": {csrf}, "action": {"revoke"}, "id": {id}}, nil); rec.Code != http.StatusSeeOther {
				t.Fatalf("revoke on the page: %d %s", rec.Code, rec.Body.String())
			}
			if in := c.introspect(tok); in["active"] != false {
				t.Fatalf("the token still works after the revocation: %v", in)
			}
			if err := svc.Active(context.Background(), sid); err == nil {
				t.Fatal("the representation is still active")
			}
			wantError(t, c.exchange(impForm(c.agentToken("u-sam"), "u-bob")), http.StatusBadRequest, "invalid_request", "[reason="+CodeConsentRequired+"]")
		})
	}
}
