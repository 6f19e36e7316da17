package exchange

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestHandoffHappyPath: the agent hands the representation off to the mobile app, which redeems
// the code as a public client and acts as the customer with `act` naming the agent; the grant
// belongs to the representation, so stopping it revokes the app's tokens too.
func TestHandoffHappyPath(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			_, sid, created := e.mustCreate("mobile")
			code := created.str("code")

			a := e.redeem(code, "mobile", "scope", "openid offline_access")
			if a.status != http.StatusOK {
				t.Fatalf("redeem: %d %v", a.status, a.body)
			}
			at := a.str("access_token")
			cl := claimsOfRep(t, at)
			act, _ := cl["act"].(map[string]any)
			if cl["sub"] != "u-bob" || act["sub"] != "u-sam" || cl["sid"] != sid || cl["client_id"] != "mobile" {
				t.Fatalf("claims: %v", cl)
			}
			if cl[ClaimReason] != repReason || cl[ClaimTicket] != "SUP-42" {
				t.Fatalf("purpose claims: %v", cl)
			}
			if a.str("refresh_token") == "" || a.str("issued_token_type") != TokenTypeAccessToken {
				t.Fatalf("response: %v", a.body)
			}
			if in, _ := a.body["expires_in"].(float64); in <= 0 || in > DefaultHandoffAccessTokenTTL.Seconds() {
				t.Fatalf("expires_in %v: want at most the hand-off cap", a.body["expires_in"])
			}
			if in := e.introspect(at); in["active"] != true || in["sid"] != sid {
				t.Fatalf("introspection: %v", in)
			}
			ui := e.userinfo(at)
			uact, _ := ui.body["act"].(map[string]any)
			if ui.status != http.StatusOK || ui.str("sub") != "u-bob" || uact["sub"] != "u-sam" {
				t.Fatalf("userinfo: %d %v", ui.status, ui.body)
			}

			// The app is one of the session's clients (back-channel logout reaches it).
			rec, err := e.svc.Get(context.Background(), sid)
			if err != nil || !rec.hasClient("mobile") {
				t.Fatalf("session clients: %v %v", rec, err)
			}
			// Audit: created and redeemed, with the hand-off id and never the code.
			ho := created.str("handoff_id")
			cr := e.audit.ofType(EventHandoffCreated)
			if len(cr) != 1 || cr[0].Detail[handoffDetailID] != ho || cr[0].Detail[handoffDetailToClient] != "mobile" || cr[0].Actor != "u-sam" {
				t.Fatalf("created events: %+v", cr)
			}
			rd := e.audit.ofType(EventHandoffRedeemed)
			if len(rd) != 1 || rd[0].ClientID != "mobile" || rd[0].Actor != "u-sam" || rd[0].Target != "u-bob" ||
				rd[0].RepresentationID != sid || rd[0].GrantID == "" || rd[0].Form != FormHandoff {
				t.Fatalf("redeemed events: %+v", rd)
			}
			for _, ev := range e.audit.events {
				if strings.Contains(ev.Ticket+ev.Reason+ev.GrantID+ev.Detail[handoffDetailID], code) {
					t.Fatalf("an audit event holds the code: %+v", ev)
				}
			}
			// Only the code's hash is stored.
			parsed, err := ParseHandoffCode(code)
			if err != nil {
				t.Fatal(err)
			}
			raw := e.rawKV(parsed.key())
			if raw == nil || strings.Contains(string(raw), code) {
				t.Fatalf("stored record %q", raw)
			}

			// Stopping the representation revokes the app's tokens.
			if _, _, err := e.svc.Stop(context.Background(), sid, "u-sam", EndStoppedByActor); err != nil {
				t.Fatal(err)
			}
			if in := e.introspect(at); in["active"] != false {
				t.Fatalf("introspection after the stop: %v", in)
			}
			if r := e.userinfo(at); r.status != http.StatusUnauthorized {
				t.Fatalf("userinfo after the stop: %d", r.status)
			}
		})
	}
}

// TestHandoffReplay: a second redemption is refused, audited as a replay, and revokes every token
// of the first.
func TestHandoffReplay(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			_, sid, created := e.mustCreate("mobile")
			code := created.str("code")
			first := e.redeem(code, "mobile", "scope", "openid offline_access")
			if first.status != http.StatusOK {
				t.Fatalf("first redemption: %d %v", first.status, first.body)
			}
			at, rt := first.str("access_token"), first.str("refresh_token")
			if in := e.introspect(at); in["active"] != true {
				t.Fatalf("introspection: %v", in)
			}

			wantRefused(t, e.redeem(code, "mobile"), "invalid_request", CodeHandoffReplayed)
			if in := e.introspect(at); in["active"] != false {
				t.Fatalf("introspection of the first redemption's token after the replay: %v", in)
			}
			if r := e.refresh(rt); r.status == http.StatusOK {
				t.Fatalf("refresh of the first redemption's token after the replay: %v", r.body)
			}
			// Another client replaying it is a replay too (the code leaked).
			wantRefused(t, e.redeem(code, "mobile2"), "invalid_request", CodeHandoffReplayed)

			grant := e.grantOf(created.str("handoff_id"))
			rp := e.audit.ofType(EventHandoffReplayRefused)
			if len(rp) != 2 || rp[0].Decision != "deny" || rp[0].ReasonCode != CodeHandoffReplayed ||
				rp[0].Detail[handoffDetailRevokedGrant] != grant || rp[0].RepresentationID != sid || rp[0].Actor != "u-sam" {
				t.Fatalf("replay events: %+v (grant %s)", rp, grant)
			}
			// The representation itself goes on: only the replayed code's grant is revoked.
			if err := e.svc.Active(context.Background(), sid); err != nil {
				t.Fatalf("representation after a replay: %v", err)
			}
		})
	}
}

// TestHandoffRefusals covers what a redemption refuses (each on both backends).
func TestHandoffRefusals(t *testing.T) {
	tests := []struct {
		name string
		// run gets a fresh env, the hand-off's code and the representation id, and checks.
		run func(t *testing.T, e *hoEnv, code, sid string)
	}{
		{name: "fail/wrong-client-then-ok", run: func(t *testing.T, e *hoEnv, code, _ string) {
			wantRefused(t, e.redeem(code, "mobile2"), "invalid_request", CodeHandoffWrongClient)
			if a := e.redeem(code, "mobile"); a.status != http.StatusOK {
				t.Fatalf("redemption by its own client after a wrong one: %d %v", a.status, a.body)
			}
		}},
		{name: "fail/confidential-client", run: func(t *testing.T, e *hoEnv, code, _ string) {
			f := url.Values{"grant_type": {GrantType}, "subject_token": {code}, "subject_token_type": {TokenTypeHandoffCode}}
			a := e.do(http.MethodPost, "/oauth2/token", "", f, "console", repConsoleSecret)
			wantRefused(t, a, "invalid_request", CodeHandoffWrongClient)
		}},
		{name: "fail/expired", run: func(t *testing.T, e *hoEnv, code, _ string) {
			e.clock.Advance(DefaultHandoffTTL + 5*time.Second)
			wantRefused(t, e.redeem(code, "mobile"), "invalid_request", CodeHandoffExpired)
		}},
		{name: "fail/representation-ended", run: func(t *testing.T, e *hoEnv, code, sid string) {
			if _, _, err := e.svc.Stop(context.Background(), sid, "u-bob", EndStoppedByTarget); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, e.redeem(code, "mobile"), "invalid_request", CodeRepresentationEnded)
		}},
		{name: "fail/actor-token", run: func(t *testing.T, e *hoEnv, code, _ string) {
			a := e.redeem(code, "mobile", "actor_token", e.agent("u-sam"), "actor_token_type", TokenTypeAccessToken)
			wantRefused(t, a, "invalid_request", "")
			if a := e.redeem(code, "mobile"); a.status != http.StatusOK {
				t.Fatalf("a refused request must not use the code: %d %v", a.status, a.body)
			}
		}},
		{name: "fail/audience-then-retry", run: func(t *testing.T, e *hoEnv, code, _ string) {
			// Refused for its audience (known only once the representation is read): the code is
			// not spent, so the corrected request succeeds and no replay is recorded.
			wantRefused(t, e.redeem(code, "mobile", "audience", "https://orders.example.com"), "invalid_target", "")
			if a := e.redeem(code, "mobile"); a.status != http.StatusOK {
				t.Fatalf("a request refused for its audience spent the code: %d %v", a.status, a.body)
			}
			if n := len(e.audit.ofType(EventHandoffReplayRefused)); n != 0 {
				t.Fatalf("%d replay events, want none", n)
			}
		}},
		{name: "fail/scope-then-retry", run: func(t *testing.T, e *hoEnv, code, _ string) {
			wantRefused(t, e.redeem(code, "mobile", "scope", "openid orders:write"), "invalid_scope", "")
			if a := e.redeem(code, "mobile"); a.status != http.StatusOK {
				t.Fatalf("a request refused for its scope spent the code: %d %v", a.status, a.body)
			}
		}},
		{name: "fail/id-token-requested", run: func(t *testing.T, e *hoEnv, code, _ string) {
			wantRefused(t, e.redeem(code, "mobile", "requested_token_type", TokenTypeIDToken), "invalid_request", "")
		}},
		{name: "fail/scope-beyond-the-representation", run: func(t *testing.T, e *hoEnv, _, sid string) {
			a := e.create(e.agent("u-sam"), sid, "mobile2")
			wantRefused(t, e.redeem(a.str("code"), "mobile2", "scope", "openid profile"), "invalid_scope", "")
		}},
		{name: "fail/audience-beyond-the-representation", run: func(t *testing.T, e *hoEnv, code, _ string) {
			wantRefused(t, e.redeem(code, "mobile", "audience", "https://orders.example.com"), "invalid_target", "")
		}},
		{name: "ok/no-refresh-token-without-the-grant", run: func(t *testing.T, e *hoEnv, _, sid string) {
			a := e.redeem(e.create(e.agent("u-sam"), sid, "mobile2").str("code"), "mobile2", "scope", "openid offline_access")
			if a.status != http.StatusOK || a.str("refresh_token") != "" || a.str("scope") != "openid" {
				t.Fatalf("redemption by a client without refresh: %d %v", a.status, a.body)
			}
		}},
		{name: "ok/default-scopes", run: func(t *testing.T, e *hoEnv, code, _ string) {
			a := e.redeem(code, "mobile")
			if a.status != http.StatusOK || a.str("refresh_token") != "" {
				t.Fatalf("redemption without scope: %d %v", a.status, a.body)
			}
			if sc, _ := claimsOfRep(t, a.str("access_token"))["scope"].(string); sc != "openid orders:read" {
				t.Fatalf("scopes %q: want the representation's without offline_access", sc)
			}
		}},
		{name: "fail/public-client-other-subject-type", run: func(t *testing.T, e *hoEnv, _, _ string) {
			a := e.redeem(e.agent("u-sam"), "mobile", "subject_token_type", TokenTypeAccessToken)
			wantRefused(t, a, "unauthorized_client", "")
		}},
		{name: "fail/agent-lost-the-role", run: func(t *testing.T, e *hoEnv, code, _ string) {
			u, _ := e.store.GetUser(context.Background(), "u-sam")
			u.Roles = []string{"customer"}
			if err := e.store.UpsertUser(context.Background(), u); err != nil {
				t.Fatal(err)
			}
			wantRefused(t, e.redeem(code, "mobile"), "invalid_request", CodeRepresentationEnded)
		}},
	}
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					e := newHandoffEnv(t, b.kv, repClockFor(b.name))
					_, sid, created := e.mustCreate("mobile")
					tc.run(t, e, created.str("code"), sid)
				})
			}
		})
	}
}

// TestHandoffSettle: a replay that comes before the first redemption's tokens are stored marks
// the tombstone revoked, and the first redemption revokes its own tokens once stored.
func TestHandoffSettle(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			_, _, created := e.mustCreate("mobile")
			code, err := ParseHandoffCode(created.str("code"))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := e.svc.RedeemHandoff(ctx, code, "mobile", "grant-first", nil); err != nil {
				t.Fatal(err)
			}
			_, err = e.svc.RedeemHandoff(ctx, code, "mobile", "grant-second", nil)
			var replay *HandoffReplayError
			if !errors.As(err, &replay) || replay.RevokedGrant != "grant-first" {
				t.Fatalf("replay: %v", err)
			}
			tok := e.mintGrantToken("grant-first") // stored after the replay's revocation
			if err := e.svc.SettleHandoff(ctx, code, "grant-first"); !errors.Is(err, ErrHandoffReplayed) {
				t.Fatalf("settle: %v", err)
			}
			if in := e.introspect(tok); in["active"] != false {
				t.Fatalf("introspection after the settle: %v", in)
			}
			if err := e.svc.SettleHandoff(ctx, code, "grant-other"); err != nil {
				t.Fatalf("settle of another grant: %v", err)
			}
		})
	}
}

// TestRefusalsAnyoneCanProvoke: a public client authenticates nothing, so its refusals before it
// presents a real hand-off code are logged, never written to the audit trail (a flood of them would
// push real events out of its retention); a spent code presented again and again is audited for
// its first handoffAuditedReplays replays only.
func TestRefusalsAnyoneCanProvoke(t *testing.T) {
	for _, b := range repBackends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			e := newHandoffEnv(t, b.kv)
			for range 20 {
				wantRefused(t, e.redeem(e.agent("u-sam"), "mobile", "subject_token_type", TokenTypeAccessToken), "unauthorized_client", "")
				wantRefused(t, e.redeem("not-a-code", "mobile"), "invalid_request", CodeHandoffInvalid)
				wantRefused(t, e.redeem(strings.Repeat("A", 43), "mobile"), "invalid_request", CodeHandoffInvalid)
			}
			if ev := e.audit.ofType(EventDenied); len(ev) != 0 {
				t.Fatalf("%d refusals anyone can provoke were audited: %+v", len(ev), ev[0])
			}
			_, _, created := e.mustCreate("mobile")
			code := created.str("code")
			if first := e.redeem(code, "mobile"); first.status != http.StatusOK {
				t.Fatalf("redemption: %d %v", first.status, first.body)
			}
			for range 10 {
				wantRefused(t, e.redeem(code, "mobile"), "invalid_request", CodeHandoffReplayed)
			}
			if n := len(e.audit.ofType(EventHandoffReplayRefused)); n != handoffAuditedReplays {
				t.Fatalf("%d replay events for 10 replays, want %d", n, handoffAuditedReplays)
			}
		})
	}
}
