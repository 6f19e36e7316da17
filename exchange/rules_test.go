package exchange

import (
	"net/url"
	"testing"
)

// TestWhoseTokens has one passing and one failing case per "whose tokens may a client exchange"
// rule (rules.go), plus the client checks that come before them.
func TestWhoseTokens(t *testing.T) {
	t.Parallel()
	runTokenCases(t, []tokenCase{
		// The client itself.
		{name: "fail/client-not-registered-for-grant", client: "svc", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "svc", sub: "svc"}).access, TokenTypeAccessToken)
		}, code: "unauthorized_client", fragment: "not registered for the grant type"},
		{name: "fail/public-client", client: "spa", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "spa", sub: "u-alice"}).access, TokenTypeAccessToken)
		}, code: "unauthorized_client", fragment: "Public clients", unaudited: true},

		// Rule 1: a subject access token of actas: the caller's own or an exchange_for client's.
		{name: "ok/rule1-own-token", client: "other", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "other", sub: "u-alice"}).access, TokenTypeAccessToken)
		}},
		{name: "ok/rule1-exchange-for", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "spa", sub: "u-alice"}).access, TokenTypeAccessToken)
		}},
		{name: "fail/rule1-token-of-unlisted-client", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "other", sub: "u-alice"}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "issued to the client 'other'"},
		{name: "fail/rule1-no-exchange-for", client: "other", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "console", sub: "u-alice"}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "issued to the client 'console'"},
		{name: "fail/rule1-jwt-type-same-rule", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "svc", sub: "svc"}).access, TokenTypeJWT)
		}, code: "invalid_request", fragment: "issued to the client 'svc'"},

		// Rule 2: a subject refresh token only by its own client.
		{name: "ok/rule2-own-refresh-token", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "console", sub: "u-alice", refresh: true}).refresh, TokenTypeRefreshToken)
		}},
		{name: "fail/rule2-refresh-token-of-exchange-for-client", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "spa", sub: "u-alice", refresh: true}).refresh, TokenTypeRefreshToken)
		}, code: "invalid_request", fragment: "only be exchanged by its own client"},
		{name: "fail/rule2-unknown-refresh-token", form: func(e *env) url.Values {
			return subjectForm("ory_rt_unknown.unknown", TokenTypeRefreshToken)
		}, code: "invalid_request", fragment: "not an active refresh token"},

		// Rule 3: an actor access token of actas: actas in aud, or issued to the caller.
		{name: "ok/rule3-actas-audience", form: func(e *env) url.Values {
			return delegationForm(e, e.mint(mint{client: "svc", sub: "svc", aud: []string{testIssuer}}).access, TokenTypeAccessToken)
		}},
		{name: "ok/rule3-issued-to-caller", form: func(e *env) url.Values {
			return delegationForm(e, e.mint(mint{client: "console", sub: "u-sam", aud: []string{"orders"}}).access, TokenTypeAccessToken)
		}},
		{name: "fail/rule3-for-another-service", form: func(e *env) url.Values {
			return delegationForm(e, e.mint(mint{client: "svc", sub: "svc", aud: []string{"orders"}}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "actor token is not meant for this server"},

		// Rule 4: an actor ID token must name the caller in aud.
		{name: "ok/rule4-id-token-for-caller", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"aud": []string{"spa", "console"}}, nil), TokenTypeIDToken)
		}},
		{name: "fail/rule4-id-token-for-another-client", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"aud": "other"}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "audience must contain 'console'"},
	})
	// Rule 5 (trusted issuers' audience and client list) is in trusted_test.go.
}
