package oauth

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/internal/claims"
)

// Actor is the RFC 8693 §4.1 `act` claim: the party acting on behalf of the token's subject. It is
// recursive: an Actor's own Act is the actor that acted before it (history, not for access
// control: only the outermost actor is the current one).
type Actor struct {
	Subject string `json:"sub"`
	// Issuer is set when the actor was authenticated by an issuer other than actas.
	Issuer string `json:"iss,omitempty"`
	// ClientID names the client the actor used, when known.
	ClientID string `json:"client_id,omitempty"`
	Act      *Actor `json:"act,omitempty"`
}

// Depth is the number of actors in the chain (1 for a single actor).
func (a *Actor) Depth() int {
	n := 0
	for x := a; x != nil; x = x.Act {
		n++
	}
	return n
}

// Clone returns a deep copy.
func (a *Actor) Clone() *Actor {
	if a == nil {
		return nil
	}
	c := *a
	c.Act = a.Act.Clone()
	return &c
}

// Map renders the chain as the JSON object form used in JWT claims.
func (a *Actor) Map() map[string]any {
	if a == nil {
		return nil
	}
	m := map[string]any{"sub": a.Subject}
	if a.Issuer != "" {
		m["iss"] = a.Issuer
	}
	if a.ClientID != "" {
		m["client_id"] = a.ClientID
	}
	if a.Act != nil {
		m["act"] = a.Act.Map()
	}
	return m
}

// Session is the one fosite session type actas uses for every grant. It carries the ID token
// claims (embedded openid.DefaultSession), what goes into JWT access tokens, and the impersonation
// context. It is stored as JSON with each token, so fields must stay JSON-serialisable.
type Session struct {
	*openid.DefaultSession `json:"oidc"`

	ClientID string `json:"client_id,omitempty"`
	// AMR/ACR/AuthTime of the user's authentication, copied into access tokens (RFC 9068 §2.2.1).
	AuthTime time.Time `json:"auth_time,omitzero"`
	AMR      []string  `json:"amr,omitempty"`
	ACR      string    `json:"acr,omitempty"`
	// Act is the delegation / impersonation chain (RFC 8693 §4.1); nil for a plain token.
	Act *Actor `json:"act,omitempty"`
	// SID is the representation session id for tokens issued under an impersonation; relying
	// parties match back-channel logout tokens to it.
	SID string `json:"sid,omitempty"`
	// Extra holds further access-token claims (e.g. the impersonation reason and ticket).
	Extra map[string]any `json:"extra,omitempty"`
	// NotAfter bounds every token of the grant, refreshes included: an exchanged token never
	// outlives its subject token or its representation session (zero: no bound).
	NotAfter time.Time `json:"not_after,omitzero"`
	// AccessTokenTTL caps the lifetime of every access token of the grant, refreshes included
	// (the impersonation policy's access-token cap); zero: the client's lifespan.
	AccessTokenTTL time.Duration `json:"at_ttl,omitempty"`
	// DefaultAudience is used when the request was granted no audience (RFC 9068 requires `aud`).
	DefaultAudience []string `json:"default_aud,omitempty"`
	// SubjectIssuer is the issuer of the subject when it is not actas (a trusted issuer's subject
	// kept by a token exchange): such a subject is not a user of this server, so it is not looked
	// up as one. Empty for actas's own users.
	SubjectIssuer string `json:"sub_iss,omitempty"`
}

var (
	_ oauth2.JWTSessionContainer = (*Session)(nil)
	_ openid.Session             = (*Session)(nil)
	_ fosite.ExtraClaimsSession  = (*Session)(nil)
)

// NewSession returns an empty session for subject (may be empty: fosite fills prototypes).
func NewSession(subject string) *Session {
	ds := openid.NewDefaultSession()
	ds.Subject = subject
	ds.Claims.Subject = subject
	return &Session{DefaultSession: ds}
}

// UnmarshalJSON decodes a stored session, refusing one whose ID-token part is null: fosite's
// embedded methods (GetExpiresAt, SetExpiresAt, ...) would dereference it.
func (s *Session) UnmarshalJSON(b []byte) error {
	type plain Session // without this method
	if err := json.Unmarshal(b, (*plain)(s)); err != nil {
		return err
	}
	if s.DefaultSession == nil {
		return errors.New("oauth: session without its \"oidc\" part")
	}
	return nil
}

// GetJWTClaims builds the RFC 9068 access-token claims. fosite adds exp, scope, aud, iat and iss.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	extra := map[string]any{}
	maps.Copy(extra, s.Extra)
	if s.ClientID != "" {
		extra["client_id"] = s.ClientID
	}
	if !s.AuthTime.IsZero() {
		extra["auth_time"] = s.AuthTime.Unix()
	}
	if len(s.AMR) > 0 {
		extra["amr"] = s.AMR
	}
	if s.ACR != "" {
		extra["acr"] = s.ACR
	}
	if s.Act != nil {
		extra["act"] = s.Act.Map()
	}
	if s.SID != "" {
		extra["sid"] = s.SID
	}
	return &defaultAudClaims{JWTClaims: &jwt.JWTClaims{
		Subject: s.GetSubject(),
		JTI:     uuid.NewString(),
		Extra:   extra,
	}, fallback: s.DefaultAudience}
}

// defaultAudClaims puts the fallback audience in `aud` when fosite granted none, because RFC 9068
// §2.2 requires the claim.
type defaultAudClaims struct {
	*jwt.JWTClaims
	fallback []string
}

func (c *defaultAudClaims) With(expiry time.Time, scope, audience []string) jwt.JWTClaimsContainer {
	if len(audience) == 0 {
		audience = c.fallback
	}
	c.JWTClaims.With(expiry, scope, audience)
	return c
}

// GetJWTHeader marks access tokens as RFC 9068 JWTs.
func (s *Session) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": "at+jwt"}}
}

// GetExtraClaims is what introspection (RFC 7662) adds to its response: act, sid, client_id and
// the authentication context, so a resource server that introspects sees who is acting.
func (s *Session) GetExtraClaims() map[string]any {
	claims := s.GetJWTClaims().(*defaultAudClaims).Extra
	delete(claims, "jti")
	return claims
}

// GetSubject returns the token's subject.
func (s *Session) GetSubject() string {
	if s == nil || s.DefaultSession == nil {
		return ""
	}
	return s.DefaultSession.Subject
}

// SetSubject sets the subject in the session and the ID token claims: the one place where `sub`
// is written.
func (s *Session) SetSubject(sub string) {
	s.DefaultSession.Subject = sub
	if s.DefaultSession.Claims == nil {
		s.DefaultSession.Claims = &jwt.IDTokenClaims{}
	}
	s.DefaultSession.Claims.Subject = sub
}

// Clone deep-copies the session (fosite clones sessions between requests). The OIDC part is
// copied field by field rather than with fosite's reflection-based deep copy, which costs about as
// much as decoding the session from JSON.
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if s.DefaultSession != nil {
		c.DefaultSession = cloneOIDC(s.DefaultSession)
	}
	c.AMR = append([]string(nil), s.AMR...)
	c.Act = s.Act.Clone()
	c.Extra = claims.Clone(s.Extra)
	c.DefaultAudience = append([]string(nil), s.DefaultAudience...)
	return &c
}

// CopyFrom makes s a deep copy of src when src is a *Session (storage uses it to hand out a token's
// session decoded earlier instead of decoding it again); it reports whether it did.
func (s *Session) CopyFrom(src fosite.Session) bool {
	o, ok := src.(*Session)
	if !ok || o == nil || s == nil {
		return false
	}
	*s = *o.Clone().(*Session)
	return true
}

func cloneOIDC(d *openid.DefaultSession) *openid.DefaultSession {
	c := *d
	if d.Claims != nil {
		cl := *d.Claims
		cl.Audience = slices.Clone(d.Claims.Audience)
		cl.AuthenticationMethodsReferences = slices.Clone(d.Claims.AuthenticationMethodsReferences)
		cl.Extra = claims.Clone(d.Claims.Extra)
		c.Claims = &cl
	}
	if d.Headers != nil {
		h := *d.Headers
		h.Extra = claims.Clone(d.Headers.Extra)
		c.Headers = &h
	}
	c.ExpiresAt = maps.Clone(d.ExpiresAt)
	return &c
}
