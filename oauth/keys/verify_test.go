package keys

import (
	"errors"
	"testing"
	"time"
)

func TestVerifyJWT(t *testing.T) {
	t.Parallel()
	set := stdSet(t)
	h := NewHolder(set)
	sign := func(alg, typ string, claims map[string]any) string {
		hd := map[string]any{}
		if typ != "" {
			hd["typ"] = typ
		}
		tok, _, err := h.Signer(alg).Generate(t.Context(), claims, jwtHeaders(hd))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired := claimsValid()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	retired, _ := set.Verifier("es-retired")

	tests := []struct {
		name    string
		token   string
		types   []string
		wantErr error
		wantKID string
	}{
		{name: "ok/any-type", token: sign(ES256, "", claimsValid()), wantKID: "es-active"},
		{name: "ok/at+jwt", token: sign(RS256, "at+jwt", claimsValid()), types: []string{"at+jwt"}, wantKID: "rs-active"},
		{name: "ok/type-as-media-type", token: sign(EdDSA, "application/AT+JWT", claimsValid()), types: []string{"id+jwt", "at+jwt"}, wantKID: "ed-active"},
		{name: "ok/retired-key", token: signJose4(t, ES256, retired.Private, "es-retired", claimsValid()), wantKID: "es-retired"},
		{name: "ok/no-type-no-types-required", token: signJose4Typ(t, ES256, retired.Private, "es-retired", "", claimsValid()), wantKID: "es-retired"},
		{name: "ok/time-claims-are-the-callers-job", token: sign(ES256, "", expired), wantKID: "es-active"},
		{name: "fail/wrong-type", token: sign(ES256, "JWT", claimsValid()), types: []string{"at+jwt"}, wantErr: ErrInvalidToken},
		{name: "fail/missing-type", token: signJose4Typ(t, ES256, retired.Private, "es-retired", "", claimsValid()), types: []string{"at+jwt"}, wantErr: ErrInvalidToken},
		{name: "fail/unlisted-alg", token: signJose4(t, "PS256", genSigner(t, RS256, 0), "rs-active", claimsValid()), wantErr: ErrInvalidToken},
		{name: "fail/alg-mismatch", token: signJose4(t, ES256, retired.Private, "ed-active", claimsValid()), wantErr: ErrAlgMismatch},
		{name: "fail/unknown-kid", token: signJose4(t, ES256, retired.Private, "nope", claimsValid()), wantErr: ErrUnknownKey},
		{name: "fail/forged", token: signJose4(t, ES256, genSigner(t, ES256, 9), "es-active", claimsValid()), wantErr: ErrInvalidToken},
		{name: "fail/not-compact", token: `{"payload":"e30"}`, wantErr: ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := h.VerifyJWT(tt.token, tt.types...)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || v != nil {
					t.Fatalf("VerifyJWT = %v, %v; want %v", v, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyJWT: %v", err)
			}
			if v.KID != tt.wantKID {
				t.Fatalf("kid %q, want %q", v.KID, tt.wantKID)
			}
			var c struct {
				Sub string `json:"sub"`
				JTI string `json:"jti"`
			}
			var m map[string]any
			if err := v.Claims(&c, &m); err != nil || c.Sub != "alice" || c.JTI != "jti-1" || m["iss"] != "https://issuer.example" {
				t.Fatalf("claims %+v %v (%v)", c, m, err)
			}
		})
	}
}
