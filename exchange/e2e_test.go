package exchange

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// e2eServer serves a real provider with the exchange grant over HTTP on loopback.
type e2eServer struct {
	*env
	srv    *httptest.Server
	client *http.Client
}

func newE2E(t *testing.T) *e2eServer {
	srv := httptest.NewUnstartedServer(nil)
	e := newEnv(t, withIssuerURL("http://"+srv.Listener.Addr().String()))
	srv.Config.Handler = e.mux
	srv.Start()
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &e2eServer{env: e, srv: srv, client: c}
}

// login runs the authorization code flow with PKCE for user at client and returns the token
// response.
func (s *e2eServer) login(t *testing.T, clientID, secret, redirect, user string, mfa bool, scope string) map[string]any {
	t.Helper()
	verifier := strings.Repeat("v", 50)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"response_type": {"code"}, "client_id": {clientID}, "redirect_uri": {redirect}, "scope": {scope},
		"state": {"state-1234567890"}, "nonce": {"nonce-1234567890"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/oauth2/auth?"+q.Encode(), nil)
	req.Header.Set("X-Test-Login", user)
	if mfa {
		req.Header.Set("X-Test-AMR", "otp")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" || loc.Query().Get("iss") != s.issuer {
		t.Fatalf("authorization answered %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}
	if secret == "" {
		form.Set("client_id", clientID)
	}
	status, body := s.postForm(t, "/oauth2/token", clientID, secret, form)
	if status != http.StatusOK {
		t.Fatalf("code exchange: %d %v", status, body)
	}
	return body
}

func (s *e2eServer) postForm(t *testing.T, path, clientID, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(clientID, secret)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %d, body not JSON: %v", path, resp.StatusCode, err)
	}
	return resp.StatusCode, body
}

// TestEndToEnd walks the documented scenario over real HTTP: an agent and a customer log in;
// the console delegates the customer's token to the agent, then the agent impersonates another
// customer; act and sid are visible in the JWT, introspection and userinfo.
func TestEndToEnd(t *testing.T) {
	t.Parallel()
	s := newE2E(t)

	// Discovery advertises the grant.
	resp, err := s.client.Get(s.srv.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disco map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disco)
	resp.Body.Close()
	if !slices.Contains(stringList(disco["grant_types_supported"]), GrantType) {
		t.Fatalf("discovery grant types %v", disco["grant_types_supported"])
	}

	agent := s.login(t, "console", consoleSecret, "http://127.0.0.1:5556/callback", "u-sam", true, "openid")
	customer := s.login(t, "spa", "", "http://127.0.0.1:5555/callback", "u-alice", false, "openid orders:read offline_access")

	// Delegation: the customer's SPA token, the agent's console token as actor.
	status, del := s.postForm(t, "/oauth2/token", "console", consoleSecret, url.Values{"grant_type": {GrantType},
		"subject_token": {customer["access_token"].(string)}, "subject_token_type": {TokenTypeAccessToken},
		"actor_token": {agent["access_token"].(string)}, "actor_token_type": {TokenTypeAccessToken},
		"scope": {"openid orders:read"}})
	if status != http.StatusOK {
		t.Fatalf("delegation: %d %v", status, del)
	}
	c := claimsOf(t, del["access_token"].(string))
	wantAct := map[string]any{"sub": "u-sam"}
	if c["sub"] != "u-alice" || !reflect.DeepEqual(c["act"], wantAct) {
		t.Fatalf("delegated claims %v", c)
	}

	// Impersonation: the agent acts as bob.
	status, imp := s.postForm(t, "/oauth2/token", "console", consoleSecret, url.Values{"grant_type": {GrantType},
		"subject_token": {"u-bob"}, "subject_token_type": {TokenTypeUserID},
		"actor_token": {agent["access_token"].(string)}, "actor_token_type": {TokenTypeAccessToken},
		"scope": {"impersonation openid orders:read"}, "reason": {"customer asked for help with order 7"}, "ticket": {"SUP-7"}})
	if status != http.StatusOK {
		t.Fatalf("impersonation: %d %v", status, imp)
	}
	tok := imp["access_token"].(string)
	c = claimsOf(t, tok)
	if c["sub"] != "u-bob" || !reflect.DeepEqual(c["act"], wantAct) || c["sid"] == nil || imp["scope"] != "openid orders:read" {
		t.Fatalf("impersonation claims %v, response %v", c, imp)
	}

	// Introspection and userinfo show who is acting.
	status, in := s.postForm(t, "/oauth2/introspect", "console", consoleSecret, url.Values{"token": {tok}})
	if status != http.StatusOK || in["active"] != true || !reflect.DeepEqual(in["act"], wantAct) || in["sid"] != c["sid"] {
		t.Fatalf("introspection %d %v", status, in)
	}
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ui["sub"] != "u-bob" || !reflect.DeepEqual(ui["act"], wantAct) {
		t.Fatalf("userinfo %d %v", resp.StatusCode, ui)
	}

	// A policy denial reaches the client as an RFC 8693 error with its reason code: a customer is
	// no impersonator.
	status, denied := s.postForm(t, "/oauth2/token", "console", consoleSecret, url.Values{"grant_type": {GrantType},
		"subject_token": {"u-bob"}, "subject_token_type": {TokenTypeUserID},
		"actor_token": {customer["access_token"].(string)}, "actor_token_type": {TokenTypeAccessToken},
		"scope": {"impersonation"}, "reason": {"curious about a neighbour"}})
	if status != http.StatusBadRequest || denied["error"] != "invalid_request" ||
		!strings.Contains(denied["error_description"].(string), "[reason=not_impersonator]") {
		t.Fatalf("denial %d %v", status, denied)
	}
}
