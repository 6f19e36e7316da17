package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

var scenarios = map[string]scenario{
	"client_credentials": clientCredentials,
	"introspect":         introspect,
	"ceiling":            ceiling,
}

func scenarioNames() []string {
	var names []string
	for k := range scenarios {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// answer is the part of a token-family answer the scenarios look at.
type answer struct {
	AccessToken string `json:"access_token"`
	Active      *bool  `json:"active"`
	Error       string `json:"error"`
	ReasonCode  string `json:"reason_code"`
}

// postForm posts a form body to path with the given Authorization header and decodes the answer.
func postForm(ctx context.Context, p *pool, path, auth string, body []byte) (int, answer, error) {
	status, b, err := p.do(ctx, http.MethodPost, path, auth, body)
	var a answer
	if err != nil {
		return status, a, err
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return status, a, fmt.Errorf("answer %d is not JSON: %.100q", status, b)
	}
	return status, a, nil
}

// classify turns an answer into an outcome class.
func classify(status int, a answer, err error) (string, error) {
	switch {
	case err != nil:
		return "transport_error", err
	case status == http.StatusOK:
		return "ok", nil
	case a.Error != "":
		return fmt.Sprintf("%d_%s", status, a.Error), nil
	}
	return fmt.Sprintf("http_%d", status), nil
}

// clientCredentials issues one ES256 JWT access token per request (RFC 6749 §4.4).
func clientCredentials(_ context.Context, o options, p *pool) (request, func(), error) {
	form := []byte(url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}.Encode())
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

// introspect introspects a pool of live access tokens (RFC 7662) as the resource server.
func introspect(ctx context.Context, o options, p *pool) (request, func(), error) {
	var forms [][]byte
	cc := []byte(url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}.Encode())
	for range 64 {
		status, a, err := postForm(ctx, p, "/oauth2/token", basic(o.clientID, o.clientSecret), cc)
		if err != nil || status != http.StatusOK {
			return nil, nil, fmt.Errorf("get a token to introspect: %d %+v %v", status, a, err)
		}
		forms = append(forms, []byte(url.Values{"token": {a.AccessToken}}.Encode()))
	}
	auth := basic(o.apiID, o.apiSecret)
	return func(ctx context.Context, w int) (string, time.Duration, error) {
		status, a, err := postForm(ctx, p, "/oauth2/introspect", auth, forms[w%len(forms)])
		if status == http.StatusOK && (a.Active == nil || !*a.Active) {
			return "inactive", 0, nil
		}
		class, err := classify(status, a, err)
		return class, 0, err
	}, nil, nil
}

// ceiling drives bench/ceiling, the bare-handler yardstick (not actas): one actor token fetched
// once, then an exchange-like request per call for one of the -customers subjects.
func ceiling(ctx context.Context, o options, p *pool) (request, func(), error) {
	status, tok, err := p.do(ctx, http.MethodGet, "/actor", "", nil)
	if err != nil || status != http.StatusOK {
		return nil, nil, fmt.Errorf("get an actor token from bench/ceiling at %s: status %d: %v", o.url, status, err)
	}
	counters := make([]int, o.concurrency) // each worker touches only its own
	return func(ctx context.Context, w int) (string, time.Duration, error) {
		counters[w]++
		form := []byte(url.Values{"actor_token": {string(tok)},
			"subject": {fmt.Sprintf("u-cust%04d", (w*997+counters[w])%o.customers)}}.Encode())
		status, a, err := postForm(ctx, p, "/token", "", form)
		class, err := classify(status, a, err)
		if class == "ok" && strings.Count(a.AccessToken, ".") != 2 {
			class = "no_token"
		}
		return class, 0, err
	}, nil, nil
}
