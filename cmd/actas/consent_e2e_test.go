package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
)

// consentPurpose is the reason and ticket every consent test asks and exchanges with.
const (
	consentReason = "customer cannot see last month's invoice"
	consentTicket = "SUP-1042"
)

// withConsentForAcme requires the target's consent for tenant acme (the dev data set requires
// none).
func withConsentForAcme(c *config.Config) { c.Policy.ConsentRequired.Tenants = []string{"acme"} }

// requireConsentWired fails when app.go does not mount the consent workflow.
func requireConsentWired(t *testing.T, srv *testServer) {
	t.Helper()
	if st, _ := apiCall(t, http.MethodGet, srv.URL+"/api/v1/me/access-requests", "", ""); st == http.StatusNotFound {
		t.Fatal("the consent workflow is not wired in cmd/actas/app.go (exchange.NewConsentService)")
	}
}

// impersonate asks for an impersonation of target by the agent's token with the consent purpose.
func impersonate(t *testing.T, srv *testServer, agentToken, target string) (int, map[string]any) {
	t.Helper()
	return exchangeCall(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret, url.Values{
		"subject_token": {target}, "subject_token_type": {exchange.TokenTypeUserID},
		"actor_token": {agentToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
		"scope": {"impersonation openid"}, "reason": {consentReason}, "ticket": {consentTicket}})
}

// reasonOf is the reason code of a token endpoint error ("" when there is none).
func reasonOf(body map[string]any) string {
	if rc, _ := body["reason_code"].(string); rc != "" {
		return rc
	}
	desc, _ := body["error_description"].(string)
	if i := strings.Index(desc, "[reason="); i >= 0 {
		if j := strings.Index(desc[i:], "]"); j > 0 {
			return desc[i+len("[reason=") : i+j]
		}
	}
	return ""
}

// askAccess posts an access request as the agent.
func askAccess(t *testing.T, srv *testServer, agentToken, target string) (int, map[string]any) {
	t.Helper()
	return apiCall(t, http.MethodPost, srv.URL+"/api/v1/access-requests", agentToken,
		`{"target":"`+target+`","reason":"`+consentReason+`","ticket":"`+consentTicket+`","duration":"30m"}`)
}

// wantPastConsent checks an impersonation that consent allowed: it succeeds and carries the
// consent id, or, while the representation service is not wired, fails for that reason only.
func wantPastConsent(t *testing.T, status int, body map[string]any, consentID string) bool {
	t.Helper()
	if status == http.StatusBadRequest && reasonOf(body) == exchange.CodeRepresentationsUnavailable {
		t.Logf("the exchange got past the consent check; representations are not wired (%s)", exchange.CodeRepresentationsUnavailable)
		return false
	}
	if status != http.StatusOK {
		t.Fatalf("impersonation after approval: %d %v", status, body)
	}
	at := decodeJWT(t, body["access_token"].(string))
	if at.claims[exchange.ClaimConsentID] != consentID || at.claims["sub"] == nil || at.claims["sid"] == nil {
		t.Fatalf("claims %v", at.claims)
	}
	return true
}

// TestConsentEndToEnd follows docs/consent.md against the dev configuration (with consent
// required for tenant acme) on each backend, over real HTTP: the agent asks, the customer
// approves with their own token, the agent impersonates; a declined request keeps the exchange
// refused; either side's conflicting move gets 409.
func TestConsentEndToEnd(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, withConsentForAcme)
			requireConsentWired(t, srv)
			console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
				"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
			spa := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID, config.DefaultConsentScope)
			sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
			alice, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "alice")
			bob, _ := spa.codeFlow(t, newBrowser(t, srv.URL), "bob")

			status, body := impersonate(t, srv, sam.AccessToken, "u-alice")
			if status != http.StatusBadRequest || reasonOf(body) != exchange.CodeConsentRequired ||
				!strings.Contains(body["error_description"].(string), "/api/v1/access-requests") {
				t.Fatalf("impersonation without consent: %d %v", status, body)
			}

			status, body = askAccess(t, srv, sam.AccessToken, "u-alice")
			if status != http.StatusCreated || body["state"] != exchange.ConsentPending || body["duration_seconds"] != float64(1800) {
				t.Fatalf("request: %d %v", status, body)
			}
			id := body["id"].(string)
			if status, body := askAccess(t, srv, sam.AccessToken, "u-alice"); status != http.StatusConflict || body["pending_request_id"] != id {
				t.Fatalf("second request: %d %v", status, body)
			}
			if status, body := impersonate(t, srv, sam.AccessToken, "u-alice"); status != http.StatusBadRequest ||
				!strings.Contains(body["error_description"].(string), "has not answered") {
				t.Fatalf("impersonation while pending: %d %v", status, body)
			}
			// The agent's token cannot answer for the customer (it lacks actas:consent; a token with
			// it would get 404: the request is not addressed to the agent); the customer's can.
			if status, body := apiCall(t, http.MethodPost, srv.URL+"/api/v1/me/access-requests/"+id+"/approve", sam.AccessToken, ""); status != http.StatusForbidden || body["error"] != "insufficient_scope" {
				t.Fatalf("agent approves own request: %d %v", status, body)
			}
			status, body = apiCall(t, http.MethodGet, srv.URL+"/api/v1/me/access-requests?state=pending", alice.AccessToken, "")
			if list, _ := body["access_requests"].([]any); status != http.StatusOK || len(list) != 1 {
				t.Fatalf("customer's list: %d %v", status, body)
			}
			status, body = apiCall(t, http.MethodPost, srv.URL+"/api/v1/me/access-requests/"+id+"/approve", alice.AccessToken, "")
			if status != http.StatusOK || body["state"] != exchange.ConsentApproved {
				t.Fatalf("approve: %d %v", status, body)
			}
			if status, body := apiCall(t, http.MethodPost, srv.URL+"/api/v1/access-requests/"+id+"/withdraw", sam.AccessToken, ""); status != http.StatusConflict || body["state"] != exchange.ConsentApproved {
				t.Fatalf("withdraw after approval: %d %v", status, body)
			}
			status, body = impersonate(t, srv, sam.AccessToken, "u-alice")
			if wantPastConsent(t, status, body, id) {
				tok := body["access_token"].(string)
				if status, body := apiCall(t, http.MethodPost, srv.URL+"/api/v1/me/consents/"+id+"/revoke", alice.AccessToken, ""); status != http.StatusOK {
					t.Fatalf("revoke: %d %v", status, body)
				}
				if in := introspect(t, srv, tok); in["active"] != false {
					t.Fatalf("the impersonation token survived the revocation: %v", in)
				}
			}

			// Declined: the exchange stays refused.
			status, body = askAccess(t, srv, sam.AccessToken, "u-bob")
			if status != http.StatusCreated {
				t.Fatalf("request for bob: %d %v", status, body)
			}
			bid := body["id"].(string)
			if status, body := apiCall(t, http.MethodPost, srv.URL+"/api/v1/me/access-requests/"+bid+"/decline", bob.AccessToken, ""); status != http.StatusOK || body["state"] != exchange.ConsentDeclined {
				t.Fatalf("decline: %d %v", status, body)
			}
			if status, body := impersonate(t, srv, sam.AccessToken, "u-bob"); status != http.StatusBadRequest || reasonOf(body) != exchange.CodeConsentRequired {
				t.Fatalf("impersonation after decline: %d %v", status, body)
			}
		})
	}
}

// TestConsentMeScopes: by default (consent.me_scopes [actas:consent]) a customer's token answers
// access requests only when it carries actas:consent (a token of an app the customer signed in to
// for something else cannot approve for them).
func TestConsentMeScopes(t *testing.T) {
	srv := startServer(t, "memory", withConsentForAcme)
	console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
		"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
	sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
	plain, _ := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID).codeFlow(t, newBrowser(t, srv.URL), "alice")
	scoped, _ := newRP(t, srv, config.DemoSPAClientID, "", "http://127.0.0.1:5555/callback", oidc.ScopeOpenID, "actas:consent").codeFlow(t, newBrowser(t, srv.URL), "alice")

	status, body := askAccess(t, srv, sam.AccessToken, "u-alice")
	if status != http.StatusCreated {
		t.Fatalf("request: %d %v", status, body)
	}
	approve := srv.URL + "/api/v1/me/access-requests/" + body["id"].(string) + "/approve"
	if status, body := apiCall(t, http.MethodPost, approve, plain.AccessToken, ""); status != http.StatusForbidden || body["error"] != "insufficient_scope" {
		t.Fatalf("approve without the scope: %d %v", status, body)
	}
	if status, body := apiCall(t, http.MethodPost, approve, scoped.AccessToken, ""); status != http.StatusOK || body["state"] != exchange.ConsentApproved {
		t.Fatalf("approve with the scope: %d %v", status, body)
	}
}

// TestCredentialInPurposeRefused: a reason or ticket holding a token (the audit trail refuses to
// store credentials) is invalid input before anything is written, for an impersonation and for an
// access request; the same request with words goes through.
func TestCredentialInPurposeRefused(t *testing.T) {
	srv := startServer(t, "memory", withConsentForAcme)
	console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
		"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
	sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
	leaky := "customer pasted " + sam.AccessToken
	status, body := exchangeForm(t, srv, url.Values{"grant_type": {exchange.GrantType},
		"subject_token": {"u-carol"}, "subject_token_type": {exchange.TokenTypeUserID},
		"actor_token": {sam.AccessToken}, "actor_token_type": {exchange.TokenTypeAccessToken},
		"scope": {"impersonation openid"}, "reason": {leaky}})
	if status != http.StatusBadRequest || body["error"] != "invalid_request" || !strings.Contains(body["error_description"].(string), "credential") {
		t.Fatalf("impersonation with a token in its reason: %d %v", status, body)
	}
	status, body = apiCall(t, http.MethodPost, srv.URL+"/api/v1/access-requests", sam.AccessToken,
		`{"target":"u-alice","reason":"`+leaky+`","duration":"30m"}`)
	if status != http.StatusBadRequest || !strings.Contains(apiText(body), "credential") {
		t.Fatalf("access request with a token in its reason: %d %v", status, body)
	}
	if status, body := askAccess(t, srv, sam.AccessToken, "u-alice"); status != http.StatusCreated {
		t.Fatalf("the same request in words: %d %v", status, body)
	}
}

// apiText is an API error's description, whatever member carries it.
func apiText(body map[string]any) string {
	for _, k := range []string{"error_description", "message"} {
		if s, ok := body[k].(string); ok {
			return s
		}
	}
	return ""
}
