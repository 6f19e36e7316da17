package exchange

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

const (
	hoDeep      = "com.example.app:/handoff"
	hoUniversal = "https://app.example.com/handoff"
	hoOtherDeep = "com.example.other:/handoff"
)

// hoEnv is a representation env with the hand-off API mounted and mobile clients registered:
//   - mobile: public, token exchange and refresh, a deep link and a universal link;
//   - mobile2: public, token exchange only (no refresh), a deep link only, the scope profile;
//   - web: public, token exchange, no hand-off URI;
//   - confidential: a confidential client with a hand-off URI.
type hoEnv struct {
	*repEnv
	ho *Handoffs
}

func newHandoffEnv(t testing.TB, newKV func(testing.TB) storage.KV, opts ...repOpt) *hoEnv {
	t.Helper()
	e := &hoEnv{repEnv: newRepEnv(t, newKV, opts...)}
	ctx := context.Background()
	for _, c := range []*storage.Client{
		{ID: "mobile", Public: true, FirstParty: true, GrantTypes: []string{"authorization_code", "refresh_token", GrantType},
			Scopes: []string{"openid", "offline_access", "orders:read"}, Audience: []string{repIssuer, "https://orders.example.com"},
			HandoffURIs: []string{hoDeep, hoUniversal}},
		{ID: "mobile2", Public: true, GrantTypes: []string{GrantType},
			Scopes: []string{"openid", "offline_access", "orders:read", "profile"}, Audience: []string{repIssuer},
			HandoffURIs: []string{hoOtherDeep}},
		{ID: "web", Public: true, GrantTypes: []string{GrantType}, Scopes: []string{"openid"}},
		{ID: "confidential", SecretHash: []byte("x"), GrantTypes: []string{GrantType}, Scopes: []string{"openid"},
			HandoffURIs: []string{hoUniversal}},
	} {
		if err := e.store.UpsertClient(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	ho, err := NewHandoffs(e.svc, HandoffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.ho = ho
	ho.Routes(e.mux)
	return e
}

// create asks for a hand-off of representation id for clientID with the agent's token.
func (e *hoEnv) create(agentToken, id, clientID string) repAnswer {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"client_id": clientID})
	return e.createRaw(agentToken, id, string(body))
}

func (e *hoEnv) createRaw(agentToken, id, body string) repAnswer {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/api/v1/representations/"+id+"/handoffs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if agentToken != "" {
		req.Header.Set("Authorization", "Bearer "+agentToken)
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	a := repAnswer{status: rec.Code, header: rec.Header()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &a.body); err != nil {
			e.t.Fatalf("hand-off: %d with a non-JSON body %q", rec.Code, rec.Body.String())
		}
	}
	return a
}

// mustCreate starts sam's representation of bob and hands it off to clientID; it returns the
// agent's token, the representation id and the hand-off answer.
func (e *hoEnv) mustCreate(clientID string) (agent, sid string, a repAnswer) {
	e.t.Helper()
	agent = e.agent("u-sam")
	_, sid = e.mustImpersonate(agent, "u-bob")
	a = e.create(agent, sid, clientID)
	if a.status != http.StatusCreated {
		e.t.Fatalf("hand-off: %d %v", a.status, a.body)
	}
	return agent, sid, a
}

// redeem presents code at the token endpoint as the public client clientID (client_id in the
// form, no secret); extra are more form parameters, name then value.
func (e *hoEnv) redeem(code, clientID string, extra ...string) repAnswer {
	e.t.Helper()
	f := url.Values{"grant_type": {GrantType}, "subject_token": {code}, "subject_token_type": {TokenTypeHandoffCode},
		"client_id": {clientID}}
	for i := 0; i+1 < len(extra); i += 2 {
		f.Set(extra[i], extra[i+1])
	}
	return e.do(http.MethodPost, "/oauth2/token", "", f)
}

// userinfo calls /userinfo with tok.
func (e *hoEnv) userinfo(tok string) repAnswer {
	e.t.Helper()
	return e.do(http.MethodGet, "/userinfo", tok, nil)
}

// wantRefused checks a refused token request: status 400, the error and the reason code.
func wantRefused(t testing.TB, a repAnswer, errCode, reason string) {
	t.Helper()
	if a.status != http.StatusBadRequest || a.str("error") != errCode || a.str("reason_code") != reason || a.str("access_token") != "" {
		t.Fatalf("want %s/%q, got %d %v", errCode, reason, a.status, a.body)
	}
}

// mintGrantToken stores an access token of the grant grantID (as the redemption would), for the
// settle tests.
func (e *hoEnv) mintGrantToken(grantID string) string {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.store.GetClient(ctx, "mobile")
	if err != nil {
		e.t.Fatal(err)
	}
	s := e.deps.NewSession("u-bob")
	s.ClientID = "mobile"
	s.SetExpiresAt(fosite.AccessToken, time.Now().Add(5*time.Minute).UTC().Truncate(time.Second))
	ar := fosite.NewAccessRequest(s)
	ar.ID, ar.Client = grantID, c
	ar.GrantScope("openid")
	tok, sig, err := e.deps.Strategy.GenerateAccessToken(ctx, ar)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.deps.Storage.CreateAccessTokenSession(ctx, sig, ar.Sanitize(nil)); err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// grantOf returns the grant id of the (only) hand-off redemption recorded in the audit trail.
func (e *hoEnv) grantOf(handoffID string) string {
	e.t.Helper()
	for _, ev := range e.audit.ofType(EventHandoffRedeemed) {
		if ev.Detail[handoffDetailID] == handoffID {
			return ev.GrantID
		}
	}
	e.t.Fatalf("no %s event for %s", EventHandoffRedeemed, handoffID)
	return ""
}
