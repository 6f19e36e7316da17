package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/actas-dev/actas/config"
)

// Helpers of the bad-request end-to-end tests (oidc_*_e2e_test.go): raw HTTP calls, so that each
// test sees exactly what a client would, and assertions on RFC 6749 §5.2 error answers.

// Redirect URIs of the demo clients (config/dev.go).
const (
	spaRedirect     = "http://127.0.0.1:5555/callback"
	consoleRedirect = "http://127.0.0.1:5556/callback"
)

// reply is a response read to the end.
type reply struct {
	resp *http.Response
	body []byte
}

// httpCall describes one raw request: form goes in the body (POST) or the query (GET).
type httpCall struct {
	method  string
	path    string // below the server URL, may carry a query string
	form    url.Values
	rawBody string // used instead of form when set
	basic   *[2]string
	header  map[string]string
}

func (c httpCall) do(t *testing.T, srv *testServer) reply {
	t.Helper()
	u := srv.URL + c.path
	var body io.Reader
	switch {
	case c.rawBody != "":
		body = strings.NewReader(c.rawBody)
	case c.method == http.MethodGet && c.form != nil:
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + c.form.Encode()
	case c.form != nil:
		body = strings.NewReader(c.form.Encode())
	}
	req, err := http.NewRequest(c.method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.basic != nil {
		req.SetBasicAuth(url.QueryEscape(c.basic[0]), url.QueryEscape(c.basic[1]))
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{resp: resp, body: b}
}

func basicAuth(id, secret string) *[2]string { return &[2]string{id, secret} }

var (
	consoleAuth = basicAuth(config.DemoConsoleClientID, config.DemoConsoleClientSecret)
	apiAuth     = basicAuth(config.DemoAPIClientID, config.DemoAPIClientSecret)
)

// oauthError is the RFC 6749 §5.2 error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// wantError asserts an RFC 6749 §5.2 error answer: status, `error`, a description containing
// desc (case-insensitive), Cache-Control: no-store, a JSON body, and no token in it.
func wantError(t *testing.T, r reply, status int, code, desc string) {
	t.Helper()
	if r.resp.StatusCode != status {
		t.Errorf("status = %d, want %d; body %s", r.resp.StatusCode, status, r.body)
	}
	if cc := r.resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	if ct := r.resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	wantNoToken(t, r)
	var e oauthError
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, r.body)
	}
	if e.Error != code {
		t.Errorf("error = %q, want %q (%s)", e.Error, code, e.Description)
	}
	if !strings.Contains(strings.ToLower(e.Description), strings.ToLower(desc)) {
		t.Errorf("error_description = %q, want it to contain %q", e.Description, desc)
	}
}

// wantNoToken asserts that a body carries no token of any kind.
func wantNoToken(t *testing.T, r reply) {
	t.Helper()
	var m map[string]any
	if json.Unmarshal(r.body, &m) != nil {
		return
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token", "issued_token_type"} {
		if _, ok := m[k]; ok {
			t.Errorf("a %s was issued", k)
		}
	}
}

// tokenResponse is a successful RFC 6749 §5.1 answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// wantToken asserts a 200 token answer and returns it.
func wantToken(t *testing.T, r reply) tokenResponse {
	t.Helper()
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", r.resp.StatusCode, r.body)
	}
	if cc := r.resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var tr tokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil || tr.AccessToken == "" {
		t.Fatalf("no access token (%v): %s", err, r.body)
	}
	return tr
}

// authRequest is an authorization request of the code flow, with its PKCE verifier.
type authRequest struct {
	clientID, redirect, scope, verifier, state string
	extra                                      url.Values
}

// newAuthRequest builds a code-flow request with PKCE S256, a nonce and a random state.
func newAuthRequest(clientID, redirect, scope string) *authRequest {
	return &authRequest{clientID: clientID, redirect: redirect, scope: scope,
		verifier: oauth2.GenerateVerifier(), state: "state-" + randHex(8), extra: url.Values{}}
}

// values are the request's query parameters.
func (a *authRequest) values() url.Values {
	v := url.Values{
		"client_id": {a.clientID}, "redirect_uri": {a.redirect}, "response_type": {"code"},
		"scope": {a.scope}, "state": {a.state}, "nonce": {"nonce-" + randHex(8)},
	}
	if a.verifier != "" {
		v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(a.verifier))
		v.Set("code_challenge_method", "S256")
	}
	for k, vals := range a.extra {
		v[k] = vals
	}
	return v
}

func (a *authRequest) url(srv *testServer) string {
	return srv.URL + "/oauth2/auth?" + a.values().Encode()
}

// code runs the request through the login pages as user with b and returns the authorization code
// (the browser may already be logged in).
func (a *authRequest) code(t *testing.T, srv *testServer, b *browser, user string) string {
	t.Helper()
	loc, err := b.login(a.url(srv), user)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	q := loc.Query()
	if q.Get("error") != "" || q.Get("code") == "" {
		t.Fatalf("authorization answer %s: %s %s", loc, q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != a.state || q.Get("iss") != srv.URL {
		t.Fatalf("authorization answer %s: state or iss wrong", loc)
	}
	return q.Get("code")
}

// redeem is the token request for code, with the request's verifier and redirect URI.
func (a *authRequest) redeem(code string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {a.redirect}}
	if a.verifier != "" {
		v.Set("code_verifier", a.verifier)
	}
	if a.clientID == config.DemoSPAClientID || a.clientID == config.DemoMobileClientID {
		v.Set("client_id", a.clientID)
	}
	return v
}

// wantAuthError asserts an authorization error redirect (RFC 6749 §4.1.2.1) to redirect, with
// code, a description containing desc, the request's state and `iss` (RFC 9207).
func wantAuthError(t *testing.T, srv *testServer, r reply, redirect, state, code, desc string) {
	t.Helper()
	if r.resp.StatusCode != http.StatusSeeOther && r.resp.StatusCode != http.StatusFound {
		t.Fatalf("status = %d, want a redirect; body %s", r.resp.StatusCode, r.body)
	}
	if cc := r.resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	loc, err := r.resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), redirect+"?") {
		t.Fatalf("redirect to %s, want %s", loc, redirect)
	}
	q := loc.Query()
	if q.Get("error") != code {
		t.Errorf("error = %q, want %q (%s)", q.Get("error"), code, q.Get("error_description"))
	}
	if !strings.Contains(strings.ToLower(q.Get("error_description")), strings.ToLower(desc)) {
		t.Errorf("error_description = %q, want it to contain %q", q.Get("error_description"), desc)
	}
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != srv.URL {
		t.Errorf("iss = %q, want %q (RFC 9207)", q.Get("iss"), srv.URL)
	}
	if q.Has("code") {
		t.Errorf("an error redirect carries a code: %s", loc)
	}
}
