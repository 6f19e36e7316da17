package audit_test

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/actas-dev/actas/audit"
)

// Credential-shaped values the tests use. The JWT is a real compact JWS shape (header
// {"alg":"ES256","typ":"at+jwt"}), the refresh token fosite's HMAC shape.
const (
	testJWT          = "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJzdWIiOiJ1LWNhcmxhIn0.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMTIzNDU2Nzg5MA"
	testRefreshToken = "ory_rt_Zk9xWmdUc2hYb2JQV0NnR2JvM0U0a2Z3d2V2bGlmdVg.X3N0cmFuZ2VTaWduYXR1cmVCeXRlc0hlcmUxMjM0NTY3OA"
	testBareHMAC     = "Zk9xWmdUc2hYb2JQV0NnR2JvM0U0a2Z3d2V2bGlmdVh4.X3N0cmFuZ2VTaWduYXR1cmVCeXRlc0hlcmUxMjM0NTY3OA"
	testJWE          = "eyJhbGciOiJSU0EtT0FFUCJ9.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGe.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ"
)

func TestValidate(t *testing.T) {
	t.Parallel()
	base := func(mut func(e *audit.Event)) audit.Event {
		e := grant(1)
		mut(&e)
		return e
	}
	cases := []struct {
		name string
		e    audit.Event
		want error // nil: valid
	}{
		{"ok/grant", grant(1), nil},
		{"ok/every-type", audit.Event{Type: audit.TypeConfigLoaded, Detail: map[string]string{"policy_sha256": strings.Repeat("ab", 32)}}, nil},
		{"ok/domain-names-and-user-agents", base(func(e *audit.Event) {
			e.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
			e.ReasonText = "see https://support.example.com/tickets/123 and a.b.c, v1.2.3"
		}), nil},
		{"ok/token-type-detail-keys", base(func(e *audit.Event) {
			e.Detail = map[string]string{"subject_token_type": "urn:ietf:params:oauth:token-type:access_token", "token_jti": "j-1"}
		}), nil},
		{"ok/unicode-text", base(func(e *audit.Event) { e.ReasonText = "Kundin bat um Hilfe – Rechnung ☃" }), nil},
		{"fail/unknown-type", base(func(e *audit.Event) { e.Type = "token_exchange.grantd" }), audit.ErrInvalidEvent},
		{"fail/empty-type", base(func(e *audit.Event) { e.Type = "" }), audit.ErrInvalidEvent},
		{"fail/bad-decision", base(func(e *audit.Event) { e.Decision = "maybe" }), audit.ErrInvalidEvent},
		{"fail/jwt-in-reason", base(func(e *audit.Event) { e.ReasonText = "token was " + testJWT }), audit.ErrSecret},
		{"fail/jwt-as-actor", base(func(e *audit.Event) { e.Actor = testJWT }), audit.ErrSecret},
		{"fail/jwe-in-ticket", base(func(e *audit.Event) { e.UserAgent = testJWE }), audit.ErrSecret},
		{"fail/refresh-token-in-detail", base(func(e *audit.Event) { e.Detail["scope"] = testRefreshToken }), audit.ErrSecret},
		{"fail/bare-hmac-token", base(func(e *audit.Event) { e.ReasonText = testBareHMAC }), audit.ErrSecret},
		{"fail/password-detail-key", base(func(e *audit.Event) { e.Detail["password"] = "x" }), audit.ErrSecret},
		{"fail/client-secret-detail-key", base(func(e *audit.Event) { e.Detail["client_secret"] = "x" }), audit.ErrSecret},
		{"fail/totp-detail-key", base(func(e *audit.Event) { e.Detail["totp_code"] = "123456" }), audit.ErrSecret},
		{"fail/access-token-detail-key", base(func(e *audit.Event) { e.Detail["access_token"] = "x" }), audit.ErrSecret},
		{"fail/bad-detail-key", base(func(e *audit.Event) { e.Detail["Form"] = "x" }), audit.ErrInvalidEvent},
		{"fail/too-many-detail", base(func(e *audit.Event) {
			for i := range audit.MaxDetail {
				e.Detail["k"+strings.Repeat("x", i)] = "v"
			}
		}), audit.ErrInvalidEvent},
		{"fail/newline-in-actor", base(func(e *audit.Event) { e.Actor = "u-sam\nlevel=INFO msg=forged" }), audit.ErrInvalidEvent},
		{"fail/line-separator", base(func(e *audit.Event) { e.ReasonText = "a\u2028b" }), audit.ErrInvalidEvent},
		{"fail/c1-control", base(func(e *audit.Event) { e.ReasonText = "a\u0085b" }), audit.ErrInvalidEvent},
		{"fail/invalid-utf8", base(func(e *audit.Event) { e.Target = "u-\xff" }), audit.ErrInvalidEvent},
		{"fail/long-id", base(func(e *audit.Event) { e.Client = strings.Repeat("c", audit.MaxIDLen+1) }), audit.ErrInvalidEvent},
		{"fail/long-text", base(func(e *audit.Event) { e.ReasonText = strings.Repeat("r", audit.MaxTextLen+1) }), audit.ErrInvalidEvent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := audit.Validate(tc.e)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("Validate = %v, want %v", err, tc.want)
			}
			if err != nil {
				for _, secret := range []string{testJWT, testRefreshToken, testBareHMAC, testJWE} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("the error repeats the secret: %v", err)
					}
				}
			}
			s := audit.Sanitize(tc.e)
			if verr := audit.Validate(s); verr != nil && audit.KnownType(tc.e.Type) {
				t.Fatalf("Sanitize gave an event Validate refuses: %v", verr)
			}
			if tc.want == nil && s.Detail["sanitized"] != "" {
				t.Fatalf("Sanitize changed a valid event: %+v", s)
			}
			if tc.want != nil && audit.KnownType(tc.e.Type) && s.Detail["sanitized"] != "true" {
				t.Fatalf("Sanitize did not mark the change: %+v", s.Detail)
			}
		})
	}
}

func TestSanitizeRedacts(t *testing.T) {
	t.Parallel()
	e := grant(1)
	e.ReasonText = "pasted " + testJWT + " and " + testRefreshToken + " oops"
	e.UserAgent = strings.Repeat("é", audit.MaxTextLen) // multi-byte runes, clipped on a boundary
	e.Detail["password"] = "hunter2"
	s := audit.Sanitize(e)
	if s.ReasonText != "pasted [redacted] and [redacted] oops" {
		t.Fatalf("ReasonText = %q", s.ReasonText)
	}
	if _, ok := s.Detail["password"]; ok {
		t.Fatal("the password detail survived")
	}
	if len(s.UserAgent) > audit.MaxTextLen || !utf8.ValidString(s.UserAgent) || !strings.HasSuffix(s.UserAgent, "…") {
		t.Fatalf("UserAgent clipped badly: %d bytes, valid %v", len(s.UserAgent), utf8.ValidString(s.UserAgent))
	}
	if e.Detail["password"] != "hunter2" {
		t.Fatal("Sanitize modified its argument's detail map")
	}
}

// FuzzSanitize: whatever the input, a sanitized event of a known type validates.
func FuzzSanitize(f *testing.F) {
	f.Add("u-sam", "reason "+testJWT, "k", "v\n", "ua")
	f.Add("\xff\xfe", strings.Repeat("a.", 300), "password", testBareHMAC, "ey12345678..")
	f.Fuzz(func(t *testing.T, actor, text, key, value, ua string) {
		e := audit.Event{Type: audit.TypeExchangeDenied, Actor: actor, ReasonText: text, UserAgent: ua,
			Detail: map[string]string{key: value}}
		if err := audit.Validate(audit.Sanitize(e)); err != nil {
			t.Fatalf("Sanitize(%+v) does not validate: %v", e, err)
		}
	})
}

func TestValidateDetailKeys(t *testing.T) {
	for k, want := range map[string]bool{
		"a": true, "grant_id": true, "x1_2": true, strings.Repeat("a", 40): true,
		"": false, "1a": false, "_a": false, "A": false, "aB": false, "a-b": false, "a.b": false,
		"é": false, strings.Repeat("a", 41): false, "a b": false,
	} {
		err := audit.Validate(audit.Event{Type: audit.TypeConfigLoaded, Detail: map[string]string{k: "v"}})
		if got := err == nil; got != want {
			t.Errorf("detail key %q: Validate = %v, want valid %v", k, err, want)
		}
	}
}
