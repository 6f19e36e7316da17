package oauth

import (
	"encoding/json"
	"testing"

	"github.com/ory/fosite"
)

// FuzzSessionDecode: a stored session, whatever its bytes, decodes into an error or into a session
// whose methods do not panic (storage is trusted, but a corrupt record must fail, not crash).
func FuzzSessionDecode(f *testing.F) {
	good, _ := json.Marshal(NewSession("u-bob"))
	for _, seed := range []string{string(good), `{}`, `{"oidc":null}`, `{"oidc":{"id_token_claims":null,"headers":null,"expires_at":null}}`,
		`{"oidc":{},"act":{"sub":"u-sam","act":{"sub":"x"}},"extra":{"a":[1,{"b":null}]}}`, `{"act":null,"extra":null}`, `null`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := NewSession("")
		if err := json.Unmarshal(b, s); err != nil {
			return
		}
		_ = s.GetSubject()
		_ = s.GetExpiresAt(fosite.AccessToken)
		s.SetExpiresAt(fosite.RefreshToken, s.GetExpiresAt(fosite.AccessToken))
		_ = s.GetJWTClaims().ToMapClaims()
		_ = s.GetJWTHeader()
		_ = s.IDTokenClaims().ToMap()
		c := s.Clone()
		if c == nil {
			t.Fatal("Clone returned nil")
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("a decoded session does not encode again: %v", err)
		}
	})
}

func TestSessionDecodeRefusesNullOIDC(t *testing.T) {
	for _, in := range []string{`{"oidc":null}`, `{"oidc":null,"client_id":"x"}`} {
		if err := json.Unmarshal([]byte(in), NewSession("")); err == nil {
			t.Errorf("%s decoded without error", in)
		}
	}
	s := NewSession("")
	if err := json.Unmarshal([]byte(`{"oidc":{"subject":"u-bob","id_token_claims":{"sub":"u-bob"}},"sid":"S"}`), s); err != nil ||
		s.GetSubject() != "u-bob" || s.SID != "S" {
		t.Fatalf("%v %+v", err, s)
	}
}
