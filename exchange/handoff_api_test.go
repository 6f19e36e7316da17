package exchange

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// TestHandoffCreateAPI: who may ask for a hand-off, for which client, and what the answer holds.
func TestHandoffCreateAPI(t *testing.T) {
	tests := []struct {
		name string
		// call makes the request with sam's representation sid of bob; agent is sam's token.
		call   func(e *hoEnv, agent, sid string) repAnswer
		status int
		code   string // error code of a refusal
	}{
		{name: "ok/actor", status: http.StatusCreated,
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.create(agent, sid, "mobile") }},
		{name: "ok/current", status: http.StatusCreated,
			call: func(e *hoEnv, agent, _ string) repAnswer { return e.create(agent, "current", "mobile") }},
		{name: "fail/target-is-not-the-actor", status: http.StatusNotFound, code: "not_found",
			call: func(e *hoEnv, _, sid string) repAnswer {
				return e.create(e.token("spa", "u-bob", "openid", APIScope), sid, "mobile")
			}},
		{name: "fail/another-agent", status: http.StatusNotFound, code: "not_found",
			call: func(e *hoEnv, _, sid string) repAnswer { return e.create(e.agent("u-sky"), sid, "mobile") }},
		{name: "fail/admin", status: http.StatusNotFound, code: "not_found",
			call: func(e *hoEnv, _, sid string) repAnswer { return e.create(e.agent("u-ada"), sid, "mobile") }},
		{name: "fail/no-current", status: http.StatusNotFound, code: "not_found",
			call: func(e *hoEnv, _, _ string) repAnswer { return e.create(e.agent("u-sky"), "current", "mobile") }},
		{name: "fail/unknown-session", status: http.StatusNotFound, code: "not_found",
			call: func(e *hoEnv, agent, _ string) repAnswer { return e.create(agent, repNewID(), "mobile") }},
		{name: "fail/without-the-api-scope", status: http.StatusForbidden, code: "insufficient_scope",
			call: func(e *hoEnv, _, sid string) repAnswer {
				return e.create(e.token("console", "u-sam", "openid"), sid, "mobile")
			}},
		{name: "fail/impersonation-token", status: http.StatusForbidden,
			call: func(e *hoEnv, agent, sid string) repAnswer {
				return e.create(e.impersonate(agent, "u-bob").str("access_token"), sid, "mobile")
			}},
		{name: "fail/no-token", status: http.StatusUnauthorized,
			call: func(e *hoEnv, _, sid string) repAnswer { return e.create("", sid, "mobile") }},
		{name: "fail/client-without-handoff-uris", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.create(agent, sid, "web") }},
		{name: "fail/confidential-client", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.create(agent, sid, "confidential") }},
		{name: "fail/client-without-the-grant", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.create(agent, sid, "spa") }},
		{name: "fail/unknown-client", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.create(agent, sid, "nobody") }},
		{name: "fail/no-client", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer { return e.createRaw(agent, sid, `{}`) }},
		{name: "fail/unknown-field", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer {
				return e.createRaw(agent, sid, `{"client_id":"mobile","ttl":3600}`)
			}},
		{name: "fail/oversized-body", status: http.StatusBadRequest, code: "invalid_request",
			call: func(e *hoEnv, agent, sid string) repAnswer {
				return e.createRaw(agent, sid, `{"client_id":"`+strings.Repeat("m", 8<<10)+`"}`)
			}},
		{name: "fail/ended", status: http.StatusConflict, code: CodeRepresentationEnded,
			call: func(e *hoEnv, agent, sid string) repAnswer {
				if _, _, err := e.svc.Stop(context.Background(), sid, "u-sam", EndStoppedByActor); err != nil {
					e.t.Fatal(err)
				}
				return e.create(agent, sid, "mobile")
			}},
	}
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					e := newHandoffEnv(t, b.kv)
					agent := e.agent("u-sam")
					_, sid := e.mustImpersonate(agent, "u-bob")
					a := tc.call(e, agent, sid)
					if a.status != tc.status || (tc.code != "" && a.str("error") != tc.code) {
						t.Fatalf("got %d %v, want %d %s", a.status, a.body, tc.status, tc.code)
					}
					if a.status != http.StatusCreated {
						if len(e.audit.ofType(EventHandoffCreated)) != 0 {
							t.Fatal("a refused hand-off was audited as created")
						}
						return
					}
					checkCreated(t, e, a, sid)
				})
			}
		})
	}
}

// checkCreated checks a 201 answer: a well-formed code, its expiry, the links and the QR code,
// not cached, audited.
func checkCreated(t *testing.T, e *hoEnv, a repAnswer, sid string) {
	t.Helper()
	code := a.str("code")
	if _, err := ParseHandoffCode(code); err != nil {
		t.Fatalf("code %q: %v", code, err)
	}
	if a.str("client_id") != "mobile" || a.str("representation_id") != sid || !repValidID(a.str("handoff_id")) {
		t.Fatalf("answer: %v", a.body)
	}
	if in, _ := a.body["expires_in"].(float64); in != DefaultHandoffTTL.Seconds() {
		t.Fatalf("expires_in %v", a.body["expires_in"])
	}
	exp, err := time.Parse(time.RFC3339, a.str("expires_at"))
	if d := time.Until(exp); err != nil || d < DefaultHandoffTTL-5*time.Second || d > DefaultHandoffTTL+time.Second {
		t.Fatalf("expires_at %q", a.str("expires_at"))
	}
	links, _ := a.body["links"].(map[string]any)
	if links["deep_link"] != hoDeep+"#code="+code || links["universal_link"] != hoUniversal+"#code="+code {
		t.Fatalf("links: %v", links)
	}
	if !strings.HasPrefix(a.str("qr"), "data:image/png;base64,") {
		t.Fatalf("qr: %.40q", a.str("qr"))
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("Cache-Control %q", cc)
	}
	ev := e.audit.ofType(EventHandoffCreated)
	if len(ev) != 1 || ev[0].Detail[handoffDetailID] != a.str("handoff_id") || ev[0].ClientID != "console" ||
		ev[0].Target != "u-bob" || ev[0].RepresentationID != sid {
		t.Fatalf("audit: %+v", ev)
	}
}

// TestHandoffCreateAuditFails: no hand-off exists without its audit event.
func TestHandoffCreateAuditFails(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			_, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")
			kv := &hoKeysKV{KV: e.kv}
			o := e.opts
			o.KV, o.Audit = kv, failingAudit{}
			svc, err := NewService(o)
			if err != nil {
				t.Fatal(err)
			}
			ho, err := NewHandoffs(svc, HandoffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = ho.Create(context.Background(), HandoffRequest{RepresentationID: sid, Actor: "u-sam", ClientID: "mobile"})
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("create with a failing audit: %v", err)
			}
			if len(kv.created) != 1 || e.rawKV(kv.created[0]) != nil {
				t.Fatalf("the hand-off %v outlived its failed audit", kv.created)
			}
		})
	}
}

type failingAudit struct{}

func (failingAudit) Record(context.Context, Event) error { return errRepFault }

// hoKeysKV records the keys created through it.
type hoKeysKV struct {
	storage.KV
	mu      sync.Mutex
	created []string
}

func (k *hoKeysKV) Create(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	k.mu.Lock()
	k.created = append(k.created, key)
	k.mu.Unlock()
	return k.KV.Create(ctx, key, v, ttl)
}
