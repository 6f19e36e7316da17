package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/actas-dev/actas/internal/devlogin"
)

const (
	grantTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	typeAccessToken    = "urn:ietf:params:oauth:token-type:access_token"
	typeUserID         = "urn:actas:params:oauth:token-type:user_id"
	samTOTP            = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" // the demo's (docs/dev.md); bench/fleet agents share it
)

func init() {
	scenarios["delegation"] = delegation
	scenarios["impersonation"] = impersonation
}

// login signs a demo user in through the pages (internal/devlogin) for the support console.
func login(o options, user, password, totp string) (string, error) {
	tok, err := devlogin.Login(o.url, user, password, totp, o.clientID, o.clientSecret,
		"http://127.0.0.1:5556/callback", []string{"openid", "actas:impersonate"})
	if err != nil {
		return "", fmt.Errorf("log %s in: %w", user, err)
	}
	return tok.AccessToken, nil
}

// delegation: the support console exchanges alice's token (issued to demo-spa, which the console
// may exchange for) with sam's token as actor: a JWT with sub alice and act {sub: sam}.
func delegation(_ context.Context, o options, p *pool) (request, func(), error) {
	sam, err := login(o, "sam", "sam-demo-pass", samTOTP)
	if err != nil {
		return nil, nil, err
	}
	alice, err := devlogin.Login(o.url, "alice", "alice-demo-pass", "", "demo-spa", "",
		"http://127.0.0.1:5555/callback", []string{"openid", "profile"})
	if err != nil {
		return nil, nil, fmt.Errorf("log alice in: %w", err)
	}
	form := []byte(url.Values{"grant_type": {grantTokenExchange}, "subject_token": {alice.AccessToken},
		"subject_token_type": {typeAccessToken}, "actor_token": {sam}, "actor_token_type": {typeAccessToken}}.Encode())
	auth := basic(o.clientID, o.clientSecret)
	return func(ctx context.Context, _ int) (string, time.Duration, error) {
		status, a, err := postForm(ctx, p, "/oauth2/token", auth, form)
		class, err := classify(status, a, err)
		if class == "ok" && strings.Count(a.AccessToken, ".") != 2 {
			class = "no_token"
		}
		return class, 0, err
	}, nil, nil
}

// impersonation: the workers share the agents of bench/fleet (agent0000…), each worker cycling
// through its own slice of them; each request impersonates another customer, opening a new
// representation (policy, lock + session in one write, audit, ES256 token). With -end stop the
// agent then stops it (not timed) so the next exchange opens anew; with -end cap it is left to end
// by itself after the fleet's short policy.session_ttl, and the agent is used again only after the
// other agents of its worker (give -agents enough of them to outlast the cap). Joins and refusals
// (an agent whose session is still active) are counted apart from the headline figure.
func impersonation(_ context.Context, o options, p *pool) (request, func(), error) {
	switch {
	case o.end != "stop" && o.end != "cap":
		return nil, nil, fmt.Errorf("-end is stop or cap, not %q", o.end)
	case o.agents < o.concurrency:
		return nil, nil, fmt.Errorf("-agents (%d) must be at least -c (%d)", o.agents, o.concurrency)
	}
	agents := make([]string, o.agents)
	errs := make([]error, o.agents)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			agents[i], errs[i] = login(o, fmt.Sprintf("agent%04d", i), "sam-demo-pass", samTOTP)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, fmt.Errorf("%w (start the server with a config from bench/fleet with -agents >= %d)", err, o.agents)
		}
	}
	auth := basic(o.clientID, o.clientSecret)
	stop := func(ctx context.Context, tok string) {
		_, _, _ = p.do(ctx, http.MethodPost, "/api/v1/representations/current/stop", "Bearer "+tok, nil)
	}
	cleanup := func() {
		for _, tok := range agents {
			stop(context.Background(), tok)
		}
	}
	per := o.agents / o.concurrency
	counters := make([]int, o.concurrency) // each worker touches only its own
	return func(ctx context.Context, w int) (string, time.Duration, error) {
		counters[w]++
		n := counters[w]
		agent := agents[w*per+n%per]
		target := fmt.Sprintf("u-cust%04d", (w*997+n)%o.customers)
		form := []byte(url.Values{"grant_type": {grantTokenExchange}, "subject_token": {target},
			"subject_token_type": {typeUserID}, "actor_token": {agent}, "actor_token_type": {typeAccessToken},
			"scope": {"impersonation openid"}, "reason": {"load test: customer asked for help"}}.Encode())
		t0 := time.Now()
		status, a, err := postForm(ctx, p, "/oauth2/token", auth, form)
		lat := time.Since(t0)
		class, err := classify(status, a, err)
		if a.ReasonCode != "" {
			class = fmt.Sprintf("%d_%s", status, a.ReasonCode)
		}
		if class == "ok" && strings.Count(a.AccessToken, ".") != 2 {
			class = "no_token"
		}
		if o.end == "stop" {
			stop(context.WithoutCancel(ctx), agent) // not timed: the headline is the exchange
		}
		return class, lat, err
	}, cleanup, nil
}
