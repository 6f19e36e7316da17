package exchange

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestImpersonationAuditOrder: the start of a representation is recorded while the exchange
// makes its token, yet before the answer and always before the grant (or the abort) in the trail,
// even when recording it is slow.
func TestImpersonationAuditOrder(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			e := newRepEnv(t, b.kv)
			slow := EventRepresentationStarted
			e.audit.slow.Store(&slow)
			_, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")
			types := func() []string {
				e.audit.mu.Lock()
				defer e.audit.mu.Unlock()
				var out []string
				for _, ev := range e.audit.events {
					if ev.RepresentationID == sid {
						out = append(out, ev.Type)
					}
				}
				return out
			}
			if got := types(); len(got) != 2 || got[0] != EventRepresentationStarted || got[1] != EventGranted {
				t.Fatalf("events of %s when the answer came: %v, want [%s %s]", sid, got, EventRepresentationStarted, EventGranted)
			}

			// A grant that fails (its token cannot be stored) aborts the session: its end is recorded
			// after its start.
			agent := e.agent("u-sky")
			e.kv.setFail(func(op, key string) bool { return op == "create" && strings.HasPrefix(key, "tok:access:") }) // the token's store
			a := e.impersonate(agent, "u-carol")
			if a.status == http.StatusOK {
				t.Fatalf("the exchange succeeded although its grant could not be recorded: %v", a.body)
			}
			e.kv.setFail(nil)
			e.audit.mu.Lock()
			defer e.audit.mu.Unlock()
			var order []string
			for _, ev := range e.audit.events {
				if ev.Actor == "u-sky" || ev.Target == "u-carol" {
					order = append(order, ev.Type)
				}
			}
			// The grant's event is recorded while the token is stored, so it may precede the abort
			// (a grant that was undone); the start comes first, the refusal last.
			stop := slices.Index(order, EventRepresentationStopped)
			if len(order) < 3 || order[0] != EventRepresentationStarted || stop < 1 || order[len(order)-1] != EventDenied {
				t.Fatalf("events of the failed exchange: %v, want the start first, then its end, the refusal last", order)
			}
		})
	}
}

// TestImpersonationAuditQueued: with an Audit that queues (the audit trail), the start's event is
// put in line before Start returns, so the grant's event does not wait for it to be stored: the
// answer comes while the start's event is still held, and the trail has the start first.
func TestImpersonationAuditQueued(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			q := &repQueueAudit{held: EventRepresentationStarted, release: make(chan struct{})}
			e := newRepEnv(t, b.kv, func(e *repEnv) { q.repAudit = e.audit; e.opts.Audit = q })
			t.Cleanup(func() { close(q.release) })
			agent := e.agent("u-sam")
			answered := make(chan repAnswer, 1)
			go func() { answered <- e.impersonate(agent, "u-bob") }()
			var a repAnswer
			select {
			case a = <-answered:
			case <-time.After(20 * time.Second): // a deadlock guard, not a speed limit
				t.Fatal("the exchange waited for the start's audit event to be stored")
			}
			if a.status != http.StatusOK {
				t.Fatalf("exchange: %d %v", a.status, a.body)
			}
			q.mu.Lock()
			defer q.mu.Unlock()
			if len(q.events) != 2 || q.events[0].Type != EventRepresentationStarted || q.events[1].Type != EventGranted {
				var types []string
				for _, ev := range q.events {
					types = append(types, ev.Type)
				}
				t.Fatalf("trail %v, want [%s %s]", types, EventRepresentationStarted, EventGranted)
			}
		})
	}
}
