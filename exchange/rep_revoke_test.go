package exchange

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth"
)

// TestRepStopRevokesTokens drives real impersonation exchanges through the provider and checks
// that ending the session by each way revokes every token issued under it: introspection answers
// active:false, refresh fails, userinfo answers 401, and an exchange that presents the token
// fails.
func TestRepStopRevokesTokens(t *testing.T) {
	t.Parallel()
	ends := []struct {
		name string
		end  func(e *repEnv, sid string)
	}{
		{"ok/stopped-by-actor", func(e *repEnv, sid string) {
			if a := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.agent("u-sam"), nil); a.status != http.StatusOK {
				e.t.Fatalf("stop: %d %v", a.status, a.body)
			}
		}},
		{"ok/stopped-by-target", func(e *repEnv, sid string) {
			if a := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.token("spa", "u-bob", "openid"), nil); a.status != http.StatusOK {
				e.t.Fatalf("stop: %d %v", a.status, a.body)
			}
		}},
		{"ok/stopped-by-admin", func(e *repEnv, sid string) {
			if a := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.agent("u-ada"), nil); a.status != http.StatusOK {
				e.t.Fatalf("stop: %d %v", a.status, a.body)
			}
		}},
		{"ok/current-stop", func(e *repEnv, _ string) {
			if a := e.do(http.MethodPost, "/api/v1/representations/current/stop", e.agent("u-sam"), nil); a.status != http.StatusOK {
				e.t.Fatalf("stop: %d %v", a.status, a.body)
			}
		}},
		{"ok/actor-logout", func(e *repEnv, _ string) { e.svc.OnLoginSessionEnded(context.Background(), "u-sam", "x") }},
		{"ok/target-signs-out-everywhere", func(e *repEnv, _ string) {
			if a := e.do(http.MethodPost, "/api/v1/me/sessions/end", e.token("spa", "u-bob", "openid"), nil); a.status != http.StatusOK {
				e.t.Fatalf("sign out: %d %v", a.status, a.body)
			}
		}},
		{"ok/actor-disabled", func(e *repEnv, _ string) {
			ctx := context.Background()
			u, _ := e.store.GetUser(ctx, "u-sam")
			u.Disabled = true
			if err := e.store.UpsertUser(ctx, u); err != nil {
				e.t.Fatal(err)
			}
			// No explicit stop: the next use of a token of the session (here, introspection)
			// finds that the actor may no longer act, and ends it.
		}},
	}
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			for _, tt := range ends {
				t.Run(tt.name, func(t *testing.T) {
					e := newRepEnv(t, b.kv)
					agent := e.agent("u-sam")
					first, sid := e.mustImpersonate(agent, "u-bob")
					// A second token of the same session (another audience): joined, recorded too.
					second := e.impersonate(agent, "u-bob", "audience", "https://orders.example.com")
					if second.status != http.StatusOK || claimsOfRep(t, second.str("access_token"))["sid"] != sid {
						t.Fatalf("join: %d %v", second.status, second.body)
					}
					// A token exchanged from the impersonation token (downscoping) keeps sid.
					down := e.reexchange(first.str("access_token"))
					if down.status != http.StatusOK || claimsOfRep(t, down.str("access_token"))["sid"] != sid {
						t.Fatalf("downscoping: %d %v", down.status, down.body)
					}
					// Refreshing keeps the grant's request id: the refreshed tokens are covered too.
					refreshed := e.refresh(first.str("refresh_token"))
					if refreshed.status != http.StatusOK {
						t.Fatalf("refresh before the end: %d %v", refreshed.status, refreshed.body)
					}
					tokens := map[string]string{"second": second.str("access_token"), "downscoped": down.str("access_token"),
						"refreshed": refreshed.str("access_token")}
					for name, tok := range tokens {
						if in := e.introspect(tok); in["active"] != true {
							t.Fatalf("%s before the end: %v", name, in)
						}
					}

					tt.end(e, sid)

					for name, tok := range tokens {
						if in := e.introspect(tok); in["active"] != false {
							t.Errorf("%s: introspection after the end: %v", name, in)
						}
						if a := e.do(http.MethodGet, "/userinfo", tok, nil); a.status != http.StatusUnauthorized {
							t.Errorf("%s: userinfo after the end: %d %v", name, a.status, a.body)
						}
						if a := e.reexchange(tok); a.status != http.StatusBadRequest || a.str("error") != "invalid_request" {
							t.Errorf("%s: re-exchange after the end: %d %v", name, a.status, a.body)
						}
					}
					for name, tok := range tokens {
						// Revoked in storage, not only refused by the guard that asks Active.
						if _, _, err := e.prov.Fosite().IntrospectToken(context.Background(), tok, fosite.AccessToken, oauth.NewSession("")); err == nil {
							t.Errorf("%s: still active in storage", name)
						}
					}
					for _, rt := range []string{refreshed.str("refresh_token"), second.str("refresh_token")} {
						if a := e.refresh(rt); a.status == http.StatusOK {
							t.Errorf("refresh after the end succeeded: %v", a.body)
						}
					}
					rec, err := e.svc.Get(context.Background(), sid)
					if err != nil || rec.EndedAt.IsZero() {
						t.Fatalf("record %+v %v", rec, err)
					}
					// The agent is free again.
					if _, next := e.mustImpersonate(e.agent("u-sky"), "u-alice"); next == sid {
						t.Fatal("same sid")
					}
					if tt.name != "ok/actor-disabled" {
						if _, next := e.mustImpersonate(agent, "u-alice"); next == sid {
							t.Fatal("same sid")
						}
					}
				})
			}
		})
	}
}

// TestRepExchangeRules checks the rules as the token endpoint shows them: the second
// impersonation of another user is refused naming the active session; the same user joins; a
// storage outage is a 503 and leaves nothing behind.
func TestRepExchangeRules(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newRepEnv(t, b.kv)
			agent := e.agent("u-sam")
			_, sid := e.mustImpersonate(agent, "u-bob")

			t.Run("fail/second-target-names-the-session", func(t *testing.T) {
				a := e.impersonate(agent, "u-alice")
				desc := a.str("error_description")
				if a.status != http.StatusBadRequest || !strings.Contains(desc, "[reason="+CodeActiveRepresentation+"]") ||
					!strings.Contains(desc, sid) || !strings.Contains(desc, "u-bob") {
					t.Fatalf("%d %v", a.status, a.body)
				}
			})
			t.Run("ok/same-target-joins", func(t *testing.T) {
				_, again := e.mustImpersonate(agent, "u-bob")
				if again != sid {
					t.Fatalf("joined %s, want %s", again, sid)
				}
			})
			t.Run("fail/outage-is-503-and-nothing-half-written", func(t *testing.T) {
				other := e.agent("u-sky")
				e.kv.setFail(func(op, key string) bool { return strings.HasPrefix(key, "rep") && op != "get" && op != "set-members" })
				a := e.impersonate(other, "u-alice")
				e.kv.setFail(nil)
				if a.status != http.StatusServiceUnavailable || a.str("access_token") != "" {
					t.Fatalf("%d %v", a.status, a.body)
				}
				if e.rawKV(repLockKey("u-sky")) != nil {
					t.Fatal("a lock was left")
				}
				if _, again := e.mustImpersonate(other, "u-alice"); again == "" {
					t.Fatal("no session after the outage")
				}
			})
		})
	}
}

// TestRepAbortOnFailedIssue: when the exchange fails after the session was started (here,
// storing the access token fails), the session is aborted and the agent is not locked out.
func TestRepAbortOnFailedIssue(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newRepEnv(t, b.kv)
			agent := e.agent("u-sam")
			// Storing the access token fails after the session was started and the grant recorded.
			e.kv.setFail(func(op, key string) bool { return op == "create" && strings.HasPrefix(key, "tok:access:") })
			a := e.impersonate(agent, "u-bob")
			e.kv.setFail(nil)
			if a.status == http.StatusOK {
				t.Fatalf("issued despite the failure: %v", a.body)
			}
			if lock := e.rawKV(repLockKey("u-sam")); lock != nil {
				rec, _ := e.svc.Get(context.Background(), string(lock))
				if rec == nil || rec.EndReason != EndAborted {
					t.Fatalf("the lock was kept for %+v", rec)
				}
			}
			if _, sid := e.mustImpersonate(agent, "u-alice"); sid == "" {
				t.Fatal("locked out")
			}
		})
	}
}

// TestRepClientGoneMidExchange: when the client goes away while the exchange stores its tokens
// (the storage call ends with the request's context), everything is undone as for an outage, but
// the failure is the client's: the answer is 499 (not a 5xx, not counted as a storage error) and
// the trail's denial says request_canceled.
func TestRepClientGoneMidExchange(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newRepEnv(t, b.kv)
			agent := e.agent("u-sam")
			ctx, cancel := context.WithCancel(context.Background())
			e.reqCtx = ctx
			e.kv.setFail(func(op, key string) bool {
				if op == "create" && strings.HasPrefix(key, "tok:access:") {
					cancel() // the client hangs up while the token is being stored
					return true
				}
				return false
			})
			a := e.impersonate(agent, "u-bob")
			e.kv.setFail(nil)
			e.reqCtx = context.Background()
			if a.status != oauth.StatusClientClosedRequest || a.str("access_token") != "" {
				t.Fatalf("answer %d %v, want 499 without a token", a.status, a.body)
			}
			denied := e.audit.ofType(EventDenied)
			if len(denied) != 1 || denied[0].ReasonCode != CodeRequestCanceled || denied[0].RepresentationID == "" {
				t.Fatalf("denials %+v, want one request_canceled naming the aborted session", denied)
			}
			if rec, err := e.svc.Get(context.Background(), denied[0].RepresentationID); err != nil || rec.EndReason != EndAborted {
				t.Fatalf("session %+v %v, want aborted", rec, err)
			}
			if _, sid := e.mustImpersonate(agent, "u-alice"); sid == "" {
				t.Fatal("locked out")
			}
		})
	}
}
