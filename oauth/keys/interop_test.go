package keys

import (
	"crypto"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

const testIssuer = "https://issuer.example"

func accessRequest(t *testing.T, exp time.Time) *fosite.Request {
	t.Helper()
	req := fosite.NewRequest()
	req.Client = &fosite.DefaultClient{ID: "app"}
	req.GrantedScope = fosite.Arguments{"read"}
	req.GrantedAudience = fosite.Arguments{"https://api.example"}
	req.Session = &oauth2.JWTSession{
		JWTClaims: &jwt.JWTClaims{Subject: "alice", Extra: map[string]any{"client_id": "app"}},
		JWTHeader: &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}},
		ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: exp},
	}
	return req
}

// TestFositeAccessTokenInterop drives fosite's own JWT access-token strategy with the signer, and
// checks the tokens with go-oidc and with fosite's validation (introspection's path).
func TestFositeAccessTokenInterop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	k1 := func(st State) Key { return testKey(t, ES256, 0, "at-1", st) }
	k2 := func(st State) Key { return testKey(t, ES256, 1, "at-2", st) }
	h := NewHolder(mustSet(t, k1(StateActive), k2(StateNext)))
	strategy := &oauth2.DefaultJWTStrategy{Signer: h.Signer(ES256), Config: &fosite.Config{AccessTokenIssuer: testIssuer}}

	req := accessRequest(t, time.Now().Add(time.Hour))
	tok, _, err := strategy.GenerateAccessToken(ctx, req)
	if err != nil {
		t.Fatalf("GenerateAccessToken: %v", err)
	}
	if hd := decodeHeader(t, tok); hd["typ"] != "at+jwt" || hd["kid"] != "at-1" || hd["alg"] != ES256 {
		t.Fatalf("access token header %v, want typ at+jwt (RFC 9068), kid at-1, alg ES256", hd)
	}

	// go-oidc verifies it against the published keys.
	var pubs []crypto.PublicKey
	for _, k := range h.Load().JWKS().Keys {
		pubs = append(pubs, k.Key)
	}
	v := oidc.NewVerifier(testIssuer, &oidc.StaticKeySet{PublicKeys: pubs}, &oidc.Config{ClientID: "https://api.example", SupportedSigningAlgs: []string{ES256}})
	idt, err := v.Verify(ctx, tok)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if idt.Subject != "alice" {
		t.Fatalf("sub %q", idt.Subject)
	}

	// fosite's validation accepts it, also after rotation.
	if err := strategy.ValidateAccessToken(ctx, req, tok); err != nil {
		t.Fatalf("ValidateAccessToken: %v", err)
	}
	h.Store(mustSet(t, k1(StateRetired), k2(StateActive)))
	if err := strategy.ValidateAccessToken(ctx, req, tok); err != nil {
		t.Fatalf("ValidateAccessToken after rotation: %v", err)
	}

	// fosite maps our errors as it maps DefaultSigner's.
	expiredReq := accessRequest(t, time.Now().Add(-time.Minute))
	expired, _, err := strategy.GenerateAccessToken(ctx, expiredReq)
	if err != nil {
		t.Fatal(err)
	}
	if err := strategy.ValidateAccessToken(ctx, expiredReq, expired); !errors.Is(err, fosite.ErrTokenExpired) {
		t.Fatalf("expired token: %v, want fosite.ErrTokenExpired", err)
	}
	h.Store(mustSet(t, k1(StateRemoved), k2(StateActive)))
	if err := strategy.ValidateAccessToken(ctx, req, tok); !errors.Is(err, fosite.ErrTokenSignatureMismatch) {
		t.Fatalf("token of a removed key: %v, want fosite.ErrTokenSignatureMismatch", err)
	}
	if err := strategy.ValidateAccessToken(ctx, req, "a.b"); !errors.Is(err, fosite.ErrInvalidTokenFormat) {
		t.Fatalf("malformed token: %v, want fosite.ErrInvalidTokenFormat", err)
	}
}

// TestFositeIDTokenInterop issues ID tokens with fosite's OpenID strategy (RS256 by default, ES256
// and EdDSA through the header alg hook) and verifies them with go-oidc against the JWKS served by
// JWKSHandler, including across a key rotation.
func TestFositeIDTokenInterop(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	h := NewHolder(mustSet(t,
		testKey(t, RS256, 0, "rs-1", StateActive),
		testKey(t, RS256, 1, "rs-2", StateNext),
		testKey(t, ES256, 0, "es-1", StateActive),
		testKey(t, EdDSA, 0, "ed-1", StateActive),
	))
	srv := httptest.NewServer(JWKSHandler(h))
	t.Cleanup(srv.Close)

	strategy := openid.DefaultStrategy{
		Signer: h.Signer(RS256),
		Config: &fosite.Config{IDTokenIssuer: testIssuer, IDTokenLifespan: time.Hour, MinParameterEntropy: 8},
	}
	verifier := oidc.NewVerifier(testIssuer, oidc.NewRemoteKeySet(ctx, srv.URL), &oidc.Config{
		ClientID:             "app",
		SupportedSigningAlgs: []string{RS256, ES256, EdDSA},
	})
	issue := func(t *testing.T, alg, accessToken string) (string, *openid.DefaultSession) {
		t.Helper()
		now := time.Now().UTC().Truncate(time.Second)
		sess := &openid.DefaultSession{
			Claims:  &jwt.IDTokenClaims{Subject: "alice", AuthTime: now, RequestedAt: now},
			Headers: &jwt.Headers{},
		}
		if alg != "" {
			sess.Headers.Add(HeaderAlg, alg)
		}
		hashAlg := alg
		if hashAlg == "" {
			hashAlg = RS256
		}
		atHash, err := TokenHash(hashAlg, accessToken)
		if err != nil {
			t.Fatal(err)
		}
		sess.Claims.AccessTokenHash = atHash
		req := fosite.NewRequest()
		req.Client = &fosite.DefaultClient{ID: "app"}
		req.Form = url.Values{"nonce": {"nonce-0123456789"}}
		req.Session = sess
		tok, err := strategy.GenerateIDToken(ctx, time.Hour, req)
		if err != nil {
			t.Fatalf("GenerateIDToken: %v", err)
		}
		return tok, sess
	}
	verify := func(t *testing.T, tok, wantAlg, wantKID, accessToken string) {
		t.Helper()
		if hd := decodeHeader(t, tok); hd["alg"] != wantAlg || hd["kid"] != wantKID {
			t.Fatalf("header %v, want alg %s kid %s", hd, wantAlg, wantKID)
		}
		idt, err := verifier.Verify(ctx, tok)
		if err != nil {
			t.Fatalf("go-oidc Verify: %v", err)
		}
		if idt.Subject != "alice" || idt.Nonce != "nonce-0123456789" || idt.Issuer != testIssuer {
			t.Fatalf("claims sub %q nonce %q iss %q", idt.Subject, idt.Nonce, idt.Issuer)
		}
		if err := idt.VerifyAccessToken(accessToken); err != nil {
			t.Fatalf("go-oidc at_hash check: %v", err)
		}
	}

	for _, tt := range []struct{ name, alg, wantAlg, wantKID string }{
		{name: "ok/default-RS256", alg: "", wantAlg: RS256, wantKID: "rs-1"},
		{name: "ok/hook-ES256", alg: ES256, wantAlg: ES256, wantKID: "es-1"},
		{name: "ok/hook-EdDSA", alg: EdDSA, wantAlg: EdDSA, wantKID: "ed-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok, _ := issue(t, tt.alg, "access-token-"+tt.name)
			verify(t, tok, tt.wantAlg, tt.wantKID, "access-token-"+tt.name)
		})
	}

	t.Run("ok/fosite-ComputeHash-agrees-for-RS256-ES256", func(t *testing.T) {
		helper := openid.IDTokenHandleHelper{}
		for _, alg := range []string{RS256, ES256} {
			sess := &openid.DefaultSession{Headers: &jwt.Headers{}}
			sess.Headers.Add(HeaderAlg, alg)
			got, err := helper.ComputeHash(ctx, sess, "at")
			want, _ := TokenHash(alg, "at")
			if err != nil || got != want {
				t.Fatalf("%s: fosite at_hash %q, ours %q", alg, got, want)
			}
		}
		// Known fosite v0.49 limitation (see TokenHash): SHA-256 for EdDSA.
		sess := &openid.DefaultSession{Headers: &jwt.Headers{}}
		sess.Headers.Add(HeaderAlg, EdDSA)
		got, _ := helper.ComputeHash(ctx, sess, "at")
		if want, _ := TokenHash(EdDSA, "at"); got == want {
			t.Log("fosite now hashes EdDSA with SHA-512; the TokenHash warning can go")
		}
	})

	t.Run("ok/rotation-through-remote-jwks", func(t *testing.T) {
		old, _ := issue(t, "", "at-old")
		set := h.Load()
		var keys []Key
		for _, k := range set.Keys() {
			switch k.KID {
			case "rs-1":
				k.State = StateRetired
			case "rs-2":
				k.State = StateActive
			}
			keys = append(keys, k)
		}
		h.Store(mustSet(t, keys...))
		fresh, _ := issue(t, "", "at-new")
		verify(t, fresh, RS256, "rs-2", "at-new")
		verify(t, old, RS256, "rs-1", "at-old")
	})
}
