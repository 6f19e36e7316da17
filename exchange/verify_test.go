package exchange

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// tokenCase is one request against a fresh provider; form builds the request from env.
type tokenCase struct {
	name     string
	client   string // default console
	form     func(e *env) url.Values
	status   int    // default 400 for failures
	code     string // "" for success
	fragment string
	// provider: the provider's own parameter checks refuse before the grant runs (no audit).
	provider bool
	// unaudited: a refusal anyone can provoke (a public client before it presented a real
	// hand-off code): logged, never written to the audit trail.
	unaudited bool
}

func runTokenCases(t *testing.T, tests []tokenCase, opts ...envOpt) {
	t.Helper()
	secrets := map[string]string{"console": consoleSecret, "other": otherSecret, "svc": svcSecret, "spa": ""}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, opts...)
			cl := tt.client
			if cl == "" {
				cl = "console"
			}
			r := e.post(cl, secrets[cl], withGrant(tt.form(e)))
			if tt.code == "" {
				wantOK(t, r)
				return
			}
			status := tt.status
			if status == 0 {
				status = http.StatusBadRequest
			}
			wantError(t, r, status, tt.code, tt.fragment)
			switch ev := e.audit.last(); {
			case tt.unaudited:
				if ev.Type == EventDenied {
					t.Fatalf("audit: %+v, want no event for a refusal anyone can provoke", ev)
				}
			case !tt.provider && (ev.Type != EventDenied || ev.Error != tt.code):
				t.Fatalf("audit: %+v, want a denial with error %s", ev, tt.code)
			}
		})
	}
}

// subjectForm is a downscoping request with the given subject token and type.
func subjectForm(tok, typ string) url.Values {
	return url.Values{"subject_token": {tok}, "subject_token_type": {typ}}
}

// delegationForm is a delegation with a subject token of alice and the given actor token.
func delegationForm(e *env, actor, actorType string) url.Values {
	f := subjectForm(e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"orders:read"}}).access, TokenTypeAccessToken)
	f.Set("actor_token", actor)
	f.Set("actor_token_type", actorType)
	return f
}

// resign replaces a token's header (and optionally its payload) and signs with sign.
func resign(tok string, header map[string]any, payload func(map[string]any), sign func(input string) string) string {
	parts := strings.Split(tok, ".")
	h, _ := json.Marshal(header)
	p := parts[1]
	if payload != nil {
		b, _ := base64.RawURLEncoding.DecodeString(p)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		payload(m)
		b, _ = json.Marshal(m)
		p = base64.RawURLEncoding.EncodeToString(b)
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + p
	return input + "." + sign(input)
}

func TestSubjectTokenVerification(t *testing.T) {
	t.Parallel()
	access := func(e *env) string {
		return e.mint(mint{client: "spa", sub: "u-alice", scopes: []string{"orders:read"}}).access
	}
	runTokenCases(t, []tokenCase{
		{name: "ok/own-client", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "console", sub: "u-alice"}).access, TokenTypeAccessToken)
		}},
		{name: "ok/as-jwt-type", form: func(e *env) url.Values { return subjectForm(access(e), TokenTypeJWT) }},
		{name: "fail/forged-signature", form: func(e *env) url.Values {
			tok := access(e)
			parts := strings.Split(tok, ".")
			forged := resign(tok, headerOf(t, tok), func(m map[string]any) { m["sub"] = "u-ada" }, func(string) string { return parts[2] })
			return subjectForm(forged, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "signature is invalid"},
		{name: "fail/alg-none", form: func(e *env) url.Values {
			tok := access(e)
			h := headerOf(t, tok)
			h["alg"] = "none"
			return subjectForm(resign(tok, h, nil, func(string) string { return "" }), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "key id or algorithm"},
		{name: "fail/hmac-confusion-with-public-key", form: func(e *env) url.Values {
			tok := access(e)
			h := headerOf(t, tok)
			h["alg"] = "HS256"
			k, ok := testKeys().Load().Verifier(h["kid"].(string))
			if !ok {
				t.Fatal("no key for the token's kid")
			}
			pub, err := x509.MarshalPKIXPublicKey(k.Public())
			if err != nil {
				t.Fatal(err)
			}
			return subjectForm(resign(tok, h, nil, func(in string) string {
				m := hmac.New(sha256.New, pub)
				m.Write([]byte(in))
				return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
			}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "key id or algorithm"},
		{name: "fail/unknown-kid", form: func(e *env) url.Values {
			tok := access(e)
			h := headerOf(t, tok)
			h["kid"] = "not-a-key"
			parts := strings.Split(tok, ".")
			return subjectForm(resign(tok, h, nil, func(string) string { return parts[2] }), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "key id or algorithm"},
		{name: "fail/wrong-issuer", form: func(e *env) url.Values {
			tok := e.idToken(map[string]any{"iss": "https://evil.example", "aud": "console"}, map[string]any{"typ": "at+jwt"})
			return subjectForm(tok, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "neither this server nor a trusted issuer"},
		{name: "fail/expired", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "spa", sub: "u-alice", ttl: -30 * time.Second}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "has expired"},
		{name: "fail/revoked", form: func(e *env) url.Values {
			m := e.mint(mint{client: "spa", sub: "u-alice"})
			if err := e.store.RevokeAccessToken(context.Background(), m.requestID); err != nil {
				t.Fatal(err)
			}
			return subjectForm(m.access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "revoked"},
		{name: "fail/signed-but-never-issued", form: func(e *env) url.Values {
			// A JWT signed with actas's key and typed at+jwt that no grant stored.
			return subjectForm(e.idToken(map[string]any{"aud": "console"}, map[string]any{"typ": "at+jwt"}), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "unknown to this server or has been revoked"},
		{name: "fail/id-token-as-access-token", form: func(e *env) url.Values {
			return subjectForm(e.idToken(map[string]any{"aud": "console"}, nil), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "not an access token"},
		{name: "fail/logout-token-as-access-token", form: func(e *env) url.Values {
			tok := e.idToken(map[string]any{"aud": "console", "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}},
				map[string]any{"typ": "logout+jwt"})
			return subjectForm(tok, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "not an access token"},
		{name: "fail/not-a-jwt", form: func(*env) url.Values { return subjectForm("opaque", TokenTypeAccessToken) },
			code: "invalid_request", fragment: "not a JWT"},
		{name: "fail/access-token-as-refresh-token", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "console", sub: "u-alice"}).access, TokenTypeRefreshToken)
		}, code: "invalid_request", fragment: "not a refresh token"},
		{name: "fail/refresh-token-as-access-token", form: func(e *env) url.Values {
			return subjectForm(e.mint(mint{client: "console", sub: "u-alice", refresh: true}).refresh, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "not a JWT"},
		{name: "fail/unknown-token-type", form: func(e *env) url.Values { return subjectForm(access(e), "urn:example:token-type:saml9") },
			code: "invalid_request", fragment: "not supported as a subject"},
		{name: "fail/oversize-subject-token", form: func(*env) url.Values {
			return subjectForm(strings.Repeat("a", MaxTokenSize+1), TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "exceeds", provider: true},
		{name: "fail/duplicated-subject-token", form: func(e *env) url.Values {
			f := subjectForm(access(e), TokenTypeAccessToken)
			f.Add("subject_token", "again")
			return f
		}, code: "invalid_request", fragment: "more than once", provider: true},
	})
}

func TestActorTokenVerification(t *testing.T) {
	t.Parallel()
	runTokenCases(t, []tokenCase{
		{name: "ok/actas-access-token", form: func(e *env) url.Values {
			return delegationForm(e, e.agentToken("u-sam"), TokenTypeAccessToken)
		}},
		{name: "ok/actas-id-token", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(nil, nil), TokenTypeIDToken)
		}},
		{name: "fail/id-token-for-another-client", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"aud": []string{"spa"}}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "not issued to this client"},
		{name: "fail/access-token-as-id-token", form: func(e *env) url.Values {
			return delegationForm(e, e.agentToken("u-sam"), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "not an ID token"},
		{name: "fail/logout-token-as-id-token", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(nil, map[string]any{"typ": "logout+jwt"}), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "not an ID token"},
		{name: "fail/untyped-logout-token-as-id-token", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"events": map[string]any{"x": map[string]any{}}}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "logout token"},
		{name: "fail/id-token-expired", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"exp": time.Now().Add(-time.Minute).Unix()}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "has expired"},
		{name: "fail/id-token-not-yet-valid", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"nbf": time.Now().Add(time.Hour).Unix()}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "not valid yet"},
		{name: "fail/id-token-without-exp", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"exp": nil}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "no expiry"},
		{name: "fail/id-token-wrong-issuer", form: func(e *env) url.Values {
			return delegationForm(e, e.idToken(map[string]any{"iss": "https://evil.example"}, nil), TokenTypeIDToken)
		}, code: "invalid_request", fragment: "neither this server nor a trusted issuer"},
		{name: "fail/revoked-actor", form: func(e *env) url.Values {
			m := e.mint(mint{client: "console", sub: "u-sam"})
			_ = e.store.RevokeAccessToken(context.Background(), m.requestID)
			return delegationForm(e, m.access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "revoked"},
		{name: "fail/actor-is-delegated-token", form: func(e *env) url.Values {
			return delegationForm(e, e.mint(mint{client: "console", sub: "u-sam", act: &oauthActor{Subject: "svc"}}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "itself a delegation or impersonation token"},
		{name: "fail/actor-is-impersonation-token", form: func(e *env) url.Values {
			return delegationForm(e, e.mint(mint{client: "console", sub: "u-sam", sid: "rep-1"}).access, TokenTypeAccessToken)
		}, code: "invalid_request", fragment: "itself a delegation or impersonation token"},
	})
}
