package exchange

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestRepAPIAccess is the permission matrix of the API: who may stop and read a session, with
// which scope; and every route refuses a token that carries act.
func TestRepAPIAccess(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newRepEnv(t, b.kv)
			imp, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")
			actTok := imp.str("access_token") // sub u-bob, act u-sam, sid
			tokens := map[string]string{
				"actor":          e.agent("u-sam"),
				"actor-no-scope": e.token("console", "u-sam", "openid"),
				"target":         e.token("spa", "u-bob", "openid"),
				"admin":          e.agent("u-ada"),
				"admin-no-scope": e.token("console", "u-ada", "openid"),
				"auditor":        e.token("console", "u-otto", "openid", AuditorScope),
				"other-agent":    e.agent("u-sky"),
				"other-customer": e.token("spa", "u-alice", "openid"),
				"client":         e.token("console", "console", APIScope, AuditorScope),
				"impersonation":  actTok,
			}
			stop := "/api/v1/representations/" + sid + "/stop"
			get := "/api/v1/representations/" + sid
			tests := []struct {
				name, method, path, who string
				status                  int
			}{
				{"ok/get-by-actor", http.MethodGet, get, "actor", 200},
				{"ok/get-by-target", http.MethodGet, get, "target", 200},
				{"ok/get-by-admin", http.MethodGet, get, "admin", 200},
				{"ok/get-by-auditor", http.MethodGet, get, "auditor", 200},
				{"fail/get-by-actor-without-scope", http.MethodGet, get, "actor-no-scope", 403},
				{"fail/get-by-admin-without-scope", http.MethodGet, get, "admin-no-scope", 403},
				{"fail/get-by-other-agent", http.MethodGet, get, "other-agent", 404},
				{"fail/get-by-other-customer", http.MethodGet, get, "other-customer", 404},
				{"fail/get-by-client", http.MethodGet, get, "client", 403},
				{"fail/get-unknown", http.MethodGet, "/api/v1/representations/AAAAAAAAAAAAAAAAAAAAAA", "admin", 404},
				{"fail/get-without-token", http.MethodGet, get, "", 401},
				{"ok/list-by-admin", http.MethodGet, "/api/v1/representations", "admin", 200},
				{"ok/list-by-auditor", http.MethodGet, "/api/v1/representations?actor=u-sam", "auditor", 200},
				{"fail/list-by-agent", http.MethodGet, "/api/v1/representations", "actor", 403},
				{"fail/list-by-customer", http.MethodGet, "/api/v1/representations?target=u-bob", "target", 403},
				{"fail/list-bad-active", http.MethodGet, "/api/v1/representations?active=maybe", "admin", 400},
				{"fail/list-bad-cursor", http.MethodGet, "/api/v1/representations?cursor=xyz", "admin", 400},
				{"fail/list-bad-limit", http.MethodGet, "/api/v1/representations?limit=0", "admin", 400},
				{"ok/me", http.MethodGet, "/api/v1/me/representations", "target", 200},
				{"ok/me-of-agent", http.MethodGet, "/api/v1/me/representations", "actor-no-scope", 200},
				{"fail/stop-by-actor-without-scope", http.MethodPost, stop, "actor-no-scope", 403},
				{"fail/stop-by-admin-without-scope", http.MethodPost, stop, "admin-no-scope", 403},
				{"fail/stop-by-auditor", http.MethodPost, stop, "auditor", 403},
				{"fail/stop-by-other-agent", http.MethodPost, stop, "other-agent", 404},
				{"fail/stop-by-other-customer", http.MethodPost, stop, "other-customer", 404},
				{"fail/stop-by-client", http.MethodPost, stop, "client", 403},
				{"fail/current-stop-without-scope", http.MethodPost, "/api/v1/representations/current/stop", "actor-no-scope", 403},
				{"fail/current-stop-of-agent-without-one", http.MethodPost, "/api/v1/representations/current/stop", "other-agent", 404},
				{"fail/current-stop-by-target", http.MethodPost, "/api/v1/representations/current/stop", "target", 403},
			}
			for _, route := range []struct{ method, path string }{
				{http.MethodPost, stop}, {http.MethodPost, "/api/v1/representations/current/stop"},
				{http.MethodGet, "/api/v1/representations"}, {http.MethodGet, get},
				{http.MethodGet, "/api/v1/me/representations"}, {http.MethodPost, "/api/v1/me/sessions/end"},
			} {
				tests = append(tests, struct {
					name, method, path, who string
					status                  int
				}{fmt.Sprintf("fail/act-token-%s-%s", route.method, route.path), route.method, route.path, "impersonation", 403})
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					a := e.do(tt.method, tt.path, tokens[tt.who], nil)
					if a.status != tt.status {
						t.Fatalf("%s %s as %s: %d %v, want %d", tt.method, tt.path, tt.who, a.status, a.body, tt.status)
					}
				})
			}
			// Nothing above stopped the session.
			if err := e.svc.Active(context.Background(), sid); err != nil {
				t.Fatalf("the session ended: %v", err)
			}
		})
	}
}

// TestRepAPIViews checks what each route answers.
func TestRepAPIViews(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newRepEnv(t, b.kv)
			_, sid := e.mustImpersonate(e.agent("u-sam"), "u-bob")

			t.Run("ok/actor-sees-the-full-record", func(t *testing.T) {
				a := e.do(http.MethodGet, "/api/v1/representations/"+sid, e.agent("u-sam"), nil)
				if a.body["id"] != sid || a.body["actor"] != "u-sam" || a.body["target"] != "u-bob" || a.body["active"] != true ||
					a.body["reason"] != repReason || a.body["ticket"] != "SUP-42" || a.body["client_id"] != "console" {
					t.Fatalf("%v", a.body)
				}
			})
			t.Run("ok/target-sees-who-why-when", func(t *testing.T) {
				a := e.do(http.MethodGet, "/api/v1/me/representations", e.token("spa", "u-bob", "openid"), nil)
				list, _ := a.body["representations"].([]any)
				if a.status != 200 || len(list) != 1 {
					t.Fatalf("%d %v", a.status, a.body)
				}
				v := list[0].(map[string]any)
				if v["id"] != sid || v["actor"] != "u-sam" || v["reason"] != repReason || v["active"] != true ||
					v["started_at"] == nil || v["expires_at"] == nil || v["scopes"] != nil || v["logout"] != nil {
					t.Fatalf("%v", v)
				}
				other := e.do(http.MethodGet, "/api/v1/me/representations", e.token("spa", "u-alice", "openid"), nil)
				if l, _ := other.body["representations"].([]any); len(l) != 0 {
					t.Fatalf("alice sees %v", other.body)
				}
			})
			t.Run("ok/stop-answers-the-ended-record", func(t *testing.T) {
				a := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.token("spa", "u-bob", "openid"), nil)
				if a.status != 200 || a.body["active"] != false || a.body["end_reason"] != EndStoppedByTarget || a.body["ended_by"] != "u-bob" {
					t.Fatalf("%d %v", a.status, a.body)
				}
				again := e.do(http.MethodPost, "/api/v1/representations/"+sid+"/stop", e.agent("u-sam"), nil)
				if again.status != 200 || again.body["end_reason"] != EndStoppedByTarget {
					t.Fatalf("second stop: %d %v", again.status, again.body)
				}
				me := e.do(http.MethodGet, "/api/v1/me/representations", e.token("spa", "u-bob", "openid"), nil)
				v := me.body["representations"].([]any)[0].(map[string]any)
				if v["active"] != false || v["end_reason"] != EndStoppedByTarget || v["ended_at"] == nil {
					t.Fatalf("%v", v)
				}
			})
			t.Run("ok/current-stop", func(t *testing.T) {
				_, sid2 := e.mustImpersonate(e.agent("u-sam"), "u-alice")
				a := e.do(http.MethodPost, "/api/v1/representations/current/stop", e.agent("u-sam"), nil)
				if a.status != 200 || a.body["id"] != sid2 || a.body["end_reason"] != EndStoppedByActor {
					t.Fatalf("%d %v", a.status, a.body)
				}
				if a := e.do(http.MethodPost, "/api/v1/representations/current/stop", e.agent("u-sam"), nil); a.status != 404 {
					t.Fatalf("nothing left to stop: %d %v", a.status, a.body)
				}
			})
			t.Run("ok/sign-out-everywhere", func(t *testing.T) {
				_, sid3 := e.mustImpersonate(e.agent("u-sky"), "u-carol")
				a := e.do(http.MethodPost, "/api/v1/me/sessions/end", e.token("spa", "u-carol", "openid"), nil)
				ended, _ := a.body["ended_representations"].([]any)
				if a.status != 200 || len(ended) != 1 || ended[0] != sid3 {
					t.Fatalf("%d %v", a.status, a.body)
				}
			})
		})
	}
}

// TestRepList covers the filters and the cursor.
func TestRepList(t *testing.T) {
	t.Parallel()
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newRepEnv(t, b.kv, repClockFor(b.name))
			// 12 sessions of sam over three days (one active at the end), 3 of sky.
			var sams []string
			for i := range 12 {
				rep, err := e.svc.Start(ctx, repStartReq("u-sam", fmt.Sprintf("u-c%02d", i)))
				if err != nil {
					t.Fatal(err)
				}
				sams = append(sams, rep.ID)
				if i < 11 {
					if _, _, err := e.svc.Stop(ctx, rep.ID, "u-sam", EndStoppedByActor); err != nil {
						t.Fatal(err)
					}
				}
				if i%4 == 3 && i < 11 {
					e.clock.Advance(25 * time.Hour)
				}
				e.clock.Advance(time.Minute)
			}
			for i := range 3 {
				rep, _ := e.svc.Start(ctx, repStartReq("u-sky", fmt.Sprintf("u-c%02d", i)))
				_, _, _ = e.svc.Stop(ctx, rep.ID, "u-sky", EndStoppedByActor)
			}
			pages := func(f RepFilter) []string {
				t.Helper()
				var ids []string
				for n := 0; ; n++ {
					recs, next, err := e.svc.List(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, r := range recs {
						ids = append(ids, r.ID)
					}
					if next == "" || n > 20 {
						return ids
					}
					f.Cursor = next
				}
			}
			reversed := func(ids []string) []string {
				out := make([]string, len(ids))
				for i, id := range ids {
					out[len(ids)-1-i] = id
				}
				return out
			}
			yes, no := true, false
			if got := pages(RepFilter{Actor: "u-sam", Limit: 5}); fmt.Sprint(got) != fmt.Sprint(reversed(sams)) {
				t.Fatalf("by actor, pages of 5:\n got %v\nwant %v", got, reversed(sams))
			}
			if got := pages(RepFilter{Actor: "u-sam", Active: &yes}); len(got) != 1 || got[0] != sams[11] {
				t.Fatalf("active: %v", got)
			}
			if got := pages(RepFilter{Actor: "u-sam", Active: &no, Limit: 3}); len(got) != 11 {
				t.Fatalf("ended: %v", got)
			}
			if got := pages(RepFilter{Target: "u-c01"}); len(got) != 2 {
				t.Fatalf("by target: %v", got)
			}
			if got := pages(RepFilter{Target: "u-c01", Actor: "u-sky"}); len(got) != 1 {
				t.Fatalf("by target and actor: %v", got)
			}
			all := pages(RepFilter{Limit: 4})
			if len(all) != 15 || all[len(all)-1] != sams[0] {
				t.Fatalf("all across days: %d %v", len(all), all)
			}
			// The same through the API, with the cursor in the query.
			var n int
			q := url.Values{"limit": {"4"}}
			for range 10 {
				a := e.do(http.MethodGet, "/api/v1/representations?"+q.Encode(), e.agent("u-ada"), nil)
				l, _ := a.body["representations"].([]any)
				n += len(l)
				if a.str("next_cursor") == "" {
					break
				}
				q.Set("cursor", a.str("next_cursor"))
			}
			if n != 15 {
				t.Fatalf("API pages: %d sessions", n)
			}
		})
	}
}
