package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
	"github.com/actas-dev/actas/storage/redistest"
)

// replica starts one actas process of a fleet: the committed dev config (fixed keys and global
// secret, so replicas accept each other's tokens) on a shared Redis, with issuer iss.
func replica(t *testing.T, ln net.Listener, iss, redisURL, prefix string, mutate func(*config.Config)) *testServer {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{File: "../../deploy/dev/actas.yaml", Env: []string{
		"ACTAS_ISSUER=" + iss, "ACTAS_SERVER_PUBLIC_ADDR=" + ln.Addr().String(),
		"ACTAS_STORAGE_BACKEND=redis", "ACTAS_STORAGE_REDIS_URL=" + redisURL, "ACTAS_STORAGE_REDIS_KEY_PREFIX=" + prefix,
		"ACTAS_STORAGE_TIMEOUT=" + redistest.TestTimeout.String()}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Clients {
		cfg.Clients[i].BackchannelLogoutURI = ""
	}
	if mutate != nil {
		mutate(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	srv := &http.Server{Handler: a.public}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { cancel(); _ = srv.Close(); a.Close() })
	return &testServer{URL: "http://" + ln.Addr().String(), app: a}
}

// fleetUsers adds n customers (u-c000…) and m support agents (agent00…, TOTP as sam's).
func fleetUsers(n, m int) func(*config.Config) {
	return func(c *config.Config) {
		var alice, sam config.User
		for _, u := range c.Users {
			switch u.ID {
			case "u-alice":
				alice = u
			case "u-sam":
				sam = u
			}
		}
		for i := range n {
			u := alice
			u.ID, u.Username, u.Email = fmt.Sprintf("u-c%03d", i), fmt.Sprintf("c%03d", i), fmt.Sprintf("c%03d@example.com", i)
			c.Users = append(c.Users, u)
		}
		for i := range m {
			u := sam
			u.ID, u.Username, u.Email = fmt.Sprintf("u-agent%02d", i), fmt.Sprintf("agent%02d", i), fmt.Sprintf("agent%02d@example.com", i)
			u.PasswordHash = sam.PasswordHash // password "sam-demo-pass"
			c.Users = append(c.Users, u)
		}
	}
}

// agentToken logs an agent in at srv (password + TOTP) and returns its access token.
func agentToken(t *testing.T, srv *testServer, username string) string {
	t.Helper()
	b := newBrowser(t, srv.URL)
	conf := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
		"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
	// agents share sam's password and TOTP secret; the login helper derives them from "sam".
	tok, _ := conf.codeFlowAs(t, b, username, "sam")
	return tok.AccessToken
}

func impersonationForm(actorToken, target string) url.Values {
	return url.Values{"grant_type": {exchange.GrantType},
		"subject_token": {target}, "subject_token_type": {exchange.TokenTypeUserID},
		"actor_token": {actorToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
		"scope": {"impersonation openid"}, "reason": {"customer asked for help with an order"}}
}

// TestRepresentationsAcrossReplicas: two actas processes on one real Redis. 100 concurrent
// impersonations by one agent of 100 different customers, spread over both, yield exactly one
// success and one active session; 50 agents × 2 attempts yield exactly 50. A restarted process
// (a new app on the same Redis) loses nothing: the session, its lock and revocations survive.
func TestRepresentationsAcrossReplicas(t *testing.T) {
	if redistest.Which() == redistest.KindMiniredis {
		t.Skip("needs a real Redis shared by two processes (redis-server or ACTAS_TEST_REDIS_URL); ACTAS_TEST_REQUIRE_REDIS=1 makes this a failure")
	}
	o := redistest.Options(t)
	lnA, _ := net.Listen("tcp", "127.0.0.1:0")
	lnB, _ := net.Listen("tcp", "127.0.0.1:0")
	iss := "http://" + lnA.Addr().String()
	users := fleetUsers(200, 51)
	a := replica(t, lnA, iss, o.URL, o.KeyPrefix, users)
	b := replica(t, lnB, iss, o.URL, o.KeyPrefix, users)
	fleet := []*testServer{a, b}
	// Each agent logs in once: a TOTP code is single use within its window.
	agent00 := agentToken(t, a, "agent00")

	t.Run("ok/one-agent-100-targets-exactly-one", func(t *testing.T) {
		tok := agent00
		wins := race(t, fleet, 100, func(i int) url.Values { return impersonationForm(tok, fmt.Sprintf("u-c%03d", i)) })
		if wins != 1 {
			t.Fatalf("%d impersonations succeeded, want exactly 1", wins)
		}
		active := true
		list, _, err := a.app.reps.List(t.Context(), exchange.RepFilter{Actor: "u-agent00", Active: &active})
		if err != nil || len(list) != 1 {
			t.Fatalf("active sessions of the agent = %d (%v), want 1", len(list), err)
		}
	})

	t.Run("ok/50-agents-2-attempts-exactly-50", func(t *testing.T) {
		toks := make([]string, 51)
		var wg sync.WaitGroup
		logins := make(chan struct{}, 8) // the logins are set-up, not the race: a few at a time (argon2id)
		for i := 1; i <= 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				logins <- struct{}{}
				defer func() { <-logins }()
				toks[i] = agentToken(t, a, fmt.Sprintf("agent%02d", i)) // the issuer is a's
			}()
		}
		wg.Wait()
		for i := 1; i <= 50; i++ {
			if toks[i] == "" {
				t.Fatalf("agent%02d could not log in", i)
			}
		}
		// agent00 holds a session from the previous subtest; agents 1..50 race, two targets each.
		wins := race(t, fleet, 100, func(i int) url.Values {
			agent := 1 + i/2
			return impersonationForm(toks[agent], fmt.Sprintf("u-c%03d", agent*2+i%2))
		})
		if wins != 50 {
			t.Fatalf("%d impersonations succeeded for 50 agents × 2 targets, want exactly 50", wins)
		}
	})

	t.Run("ok/restart-loses-nothing", func(t *testing.T) {
		tok := agent00 // agent00's session from the first subtest is still active
		lnC, _ := net.Listen("tcp", "127.0.0.1:0")
		c := replica(t, lnC, iss, o.URL, o.KeyPrefix, users) // "after a restart": a fresh process
		// A customer no earlier subtest asked for (the first one's race may have been won for any of
		// u-c000..u-c099, and asking for the winner again would join its session).
		status, body := exchangeForm(t, c, impersonationForm(tok, "u-c150"))
		if status != http.StatusBadRequest || body["reason_code"] != exchange.CodeActiveRepresentation {
			t.Fatalf("a new process forgot the agent's active session: %d %v", status, body)
		}
	})
}

// race fires n exchanges at once, alternating between the replicas, and counts the successes.
func race(t *testing.T, fleet []*testServer, n int, form func(i int) url.Values) int {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			status, body := exchangeForm(t, fleet[i%len(fleet)], form(i))
			switch {
			case status == http.StatusOK:
				mu.Lock()
				wins++
				mu.Unlock()
			case body["reason_code"] != exchange.CodeActiveRepresentation:
				t.Errorf("exchange %d: %d %v (want success or active_representation)", i, status, body)
			}
		}()
	}
	close(start)
	wg.Wait()
	return wins
}
