package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

var scenarios = map[string]scenario{
	"client_credentials": clientCredentials,
	"introspect":         introspect,
}

func scenarioNames() []string {
	var names []string
	for k := range scenarios {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// postForm posts form to the token-family endpoint path with basic auth and decodes the JSON answer.
func postForm(ctx context.Context, c *http.Client, base, path, id, secret string, form url.Values) (int, map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, nil
}

// classify turns an answer into an outcome class.
func classify(status int, body map[string]any, err error) (string, error) {
	if err != nil {
		return "transport_error", err
	}
	if status == http.StatusOK {
		return "ok", nil
	}
	if e, ok := body["error"].(string); ok {
		return fmt.Sprintf("%d_%s", status, e), nil
	}
	return fmt.Sprintf("http_%d", status), nil
}

// clientCredentials issues one ES256 JWT access token per request (RFC 6749 §4.4).
func clientCredentials(_ context.Context, o options, c *http.Client) (request, func(), error) {
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}}
	return func(ctx context.Context, _ int) (string, time.Duration, error) {
		class, err := classify(postForm(ctx, c, o.url, "/oauth2/token", o.clientID, o.clientSecret, form))
		return class, 0, err
	}, nil, nil
}

// introspect introspects a pool of live access tokens (RFC 7662) as the resource server.
func introspect(ctx context.Context, o options, c *http.Client) (request, func(), error) {
	var tokens []string
	for range 64 {
		status, body, err := postForm(ctx, c, o.url, "/oauth2/token", o.clientID, o.clientSecret,
			url.Values{"grant_type": {"client_credentials"}, "scope": {"actas:impersonate"}})
		if err != nil || status != http.StatusOK {
			return nil, nil, fmt.Errorf("get a token to introspect: %d %v %v", status, body, err)
		}
		tokens = append(tokens, body["access_token"].(string))
	}
	return func(ctx context.Context, w int) (string, time.Duration, error) {
		status, body, err := postForm(ctx, c, o.url, "/oauth2/introspect", o.apiID, o.apiSecret, url.Values{"token": {tokens[w%len(tokens)]}})
		if status == http.StatusOK && body["active"] != true {
			return "inactive", 0, nil
		}
		class, err := classify(status, body, err)
		return class, 0, err
	}, nil, nil
}
