package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	josejson "github.com/go-jose/go-jose/v4/json"
	"github.com/ory/fosite"
	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth"
	"github.com/actas-dev/actas/storage"
)

// token is a verified subject or actor token, whatever its issuer.
type token struct {
	typ      string // the token type URI it was presented as
	local    bool   // issued by actas
	issuer   string
	subject  string
	clientID string // the client it was issued to (actas), or its client_id/azp claim (foreign)
	audience []string
	scopes   []string
	// expiresAt is when the token expires; zero for a refresh token without expiry.
	expiresAt time.Time
	authTime  time.Time
	amr       []string
	acr       string
	act       *oauth.Actor
	mayAct    *MayAct
	// sid is the representation session of an actas token issued under an impersonation.
	sid   string
	extra map[string]any
	// notAfter is the grant's hard bound (oauth.Session.NotAfter); zero when none.
	notAfter time.Time
	// roles and tenant come from a trusted issuer's claim mapping.
	roles  []string
	tenant string
	// subjectIssuer is the issuer of the subject when it is not actas: a trusted issuer's token,
	// or an actas token whose subject came from one (oauth.Session.SubjectIssuer).
	subjectIssuer string
}

// role names a token's place in the request, for error descriptions.
type role string

const (
	roleSubject role = "subject"
	roleActor   role = "actor"
)

// jwtPeek is what is read from a JWT before it is verified: only to route it to the right
// verifier. Nothing read here is trusted.
type jwtPeek struct {
	typ string
	iss string
}

// peekJWT reads the header typ and the payload iss of a compact JWS without verifying it. It
// decodes as go-jose does (its JSON: member names matched exactly, duplicates refused), so that
// the routing never reads a "TYP" or a second "iss" that the verifier would not.
func peekJWT(raw string) (jwtPeek, bool) {
	if len(raw) > MaxTokenSize || strings.Count(raw, ".") != 2 {
		return jwtPeek{}, false
	}
	parts := strings.SplitN(raw, ".", 3)
	var hdr struct {
		Typ string `json:"typ"`
	}
	var body struct {
		Iss string `json:"iss"`
	}
	for i, out := range []any{&hdr, &body} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || josejson.Unmarshal(b, out) != nil {
			return jwtPeek{}, false
		}
	}
	return jwtPeek{typ: hdr.Typ, iss: body.Iss}, true
}

// normType lower-cases a JWT typ and drops "application/" (RFC 7515 §4.1.9).
func normType(t string) string { return strings.TrimPrefix(strings.ToLower(t), "application/") }

// verifyToken verifies raw presented as type typ in role r, routing JWTs by their issuer.
func (h *Handler) verifyToken(ctx context.Context, c *client, typ, raw string, r role) (*token, error) {
	if typ == TokenTypeRefreshToken {
		return h.verifyLocalRefresh(ctx, raw)
	}
	p, ok := peekJWT(raw)
	if !ok {
		return nil, badRequest("The %s token is not a JWT: %s tokens are accepted only as signed JWTs.", r, shortType(typ))
	}
	if p.iss == h.issuer {
		if typ == TokenTypeIDToken {
			return h.verifyLocalIDToken(ctx, c, raw, p)
		}
		return h.verifyLocalAccess(ctx, raw, p, r)
	}
	ti, ok := h.trusted[p.iss]
	if !ok {
		return nil, badRequest("The %s token's issuer '%s' is neither this server nor a trusted issuer.", r, clip(p.iss))
	}
	return ti.verify(ctx, c, typ, raw, r)
}

// verifyLocalAccess verifies an actas access token: typed at+jwt (RFC 9068 §2.1), signed by a
// published key, not expired, and present and active in storage (so revoked tokens fail). fosite's
// introspection does the signature, expiry and storage checks in one pass.
func (h *Handler) verifyLocalAccess(ctx context.Context, raw string, p jwtPeek, r role) (*token, error) {
	if normType(p.typ) != "at+jwt" {
		return nil, badRequest("The %s token is not an access token (its JWT type is '%s', not 'at+jwt'): an ID token or any other JWT is never accepted as an access token.", r, clip(p.typ))
	}
	use, ar, err := h.deps.Provider.IntrospectToken(ctx, raw, fosite.AccessToken, h.deps.NewSession(""))
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) || storageBroke(err) {
			return nil, storageFailure("verify "+string(r)+" token", err)
		}
		return nil, badRequest("The %s token is not acceptable: %s.", r, h.explain(ctx, raw))
	}
	if use != fosite.AccessToken {
		return nil, badRequest("The %s token is not an access token.", r)
	}
	return h.fromStored(ar, fosite.AccessToken, TokenTypeAccessToken)
}

// storageBroke reports an introspection failure whose cause is the token's record rather than the
// token: fosite wraps every error of the storage read in request_unauthorized, so a record that
// cannot be read or decoded (neither missing nor inactive) would otherwise pass for a refused token.
func storageBroke(err error) bool {
	var rfc *fosite.RFC6749Error
	if !errors.As(err, &rfc) || rfc.ErrorField != fosite.ErrRequestUnauthorized.ErrorField {
		return false
	}
	cause := rfc.Unwrap()
	if cause == nil || errors.Is(cause, storage.ErrNotFound) || errors.Is(cause, fosite.ErrNotFound) ||
		errors.Is(cause, fosite.ErrInactiveToken) {
		return false
	}
	var inner *fosite.RFC6749Error
	return !errors.As(cause, &inner)
}

// verifyLocalRefresh verifies an actas refresh token: known, active and not expired.
func (h *Handler) verifyLocalRefresh(ctx context.Context, raw string) (*token, error) {
	use, ar, err := h.deps.Provider.IntrospectToken(ctx, raw, fosite.RefreshToken, h.deps.NewSession(""))
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return nil, storageFailure("verify subject token", err)
		}
		return nil, badRequest("The subject token is not an active refresh token of this server (unknown, expired, used or revoked).")
	}
	if use != fosite.RefreshToken {
		return nil, badRequest("The subject token is not a refresh token, but subject_token_type says it is.")
	}
	return h.fromStored(ar, fosite.RefreshToken, TokenTypeRefreshToken)
}

// fromStored builds the token of a stored actas grant.
func (h *Handler) fromStored(ar fosite.Requester, tt fosite.TokenType, typ string) (*token, error) {
	s, ok := ar.GetSession().(*oauth.Session)
	if !ok || ar.GetClient() == nil {
		return nil, fosite.ErrServerError.WithHint("Unexpected session type of a stored token.")
	}
	t := &token{
		typ: typ, local: true, issuer: h.issuer,
		subject:  s.GetSubject(),
		clientID: ar.GetClient().GetID(),
		audience: ar.GetGrantedAudience(),
		scopes:   ar.GetGrantedScopes(),
		authTime: s.AuthTime, amr: s.AMR, acr: s.ACR,
		act: s.Act, sid: s.SID, extra: s.Extra, notAfter: s.NotAfter,
	}
	if len(t.audience) == 0 {
		t.audience = s.DefaultAudience
	}
	t.expiresAt = s.GetExpiresAt(tt)
	if t.expiresAt.IsZero() {
		// fosite's convention: no stored expiry means requested-at plus the lifespan.
		if l := h.lifespan(tt); l > 0 {
			t.expiresAt = ar.GetRequestedAt().Add(l)
		}
	}
	t.subjectIssuer = s.SubjectIssuer
	if v, ok := s.Extra[claimMayAct]; ok {
		m, err := decodeMayAct(v)
		if err != nil {
			return nil, badRequest("The subject token's may_act claim is malformed.")
		}
		t.mayAct = m
	}
	if t.subject == "" {
		return nil, badRequest("The token has no subject.")
	}
	return t, nil
}

func (h *Handler) lifespan(tt fosite.TokenType) time.Duration {
	switch tt {
	case fosite.AccessToken:
		return h.deps.Config.AccessTokenLifespan
	case fosite.RefreshToken:
		return h.deps.Config.RefreshTokenLifespan
	}
	return 0
}

// verifyLocalIDToken verifies an ID token issued by actas, as an actor token: signed by a published
// key (by kid), not a typed access or logout token, iss = actas, the caller in aud, not expired.
func (h *Handler) verifyLocalIDToken(ctx context.Context, c *client, raw string, p jwtPeek) (*token, error) {
	if t := normType(p.typ); t != "" && t != "jwt" {
		return nil, badRequest("The actor token is not an ID token (its JWT type is '%s'): an access token, a logout token or any other typed JWT is never accepted as an ID token.", clip(p.typ))
	}
	tok, err := h.deps.Strategy.Signer.Decode(ctx, raw)
	if err != nil {
		return nil, badRequest("The actor token is not acceptable: %s.", describeJWTError(err))
	}
	cl := tok.Claims
	sub, _ := cl["sub"].(string)
	switch {
	case cl["iss"] != h.issuer:
		return nil, badRequest("The actor token was not issued by this server.")
	case sub == "":
		return nil, badRequest("The actor token has no subject.")
	case cl["exp"] == nil:
		return nil, badRequest("The actor token has no expiry.")
	case cl["events"] != nil:
		return nil, badRequest("The actor token is a logout token, not an ID token.")
	}
	aud := stringList(cl["aud"])
	if !slices.Contains(aud, c.id) {
		return nil, badRequest("The actor ID token was not issued to this client: its audience must contain '%s'.", clip(c.id))
	}
	act, err := DecodeAct(cl["act"], maxActDepthLimit)
	if err != nil {
		return nil, badRequest("The actor token's act claim is malformed.")
	}
	t := &token{
		typ: TokenTypeIDToken, local: true, issuer: h.issuer, subject: sub,
		clientID: firstString(cl["azp"], firstOf(aud)), audience: aud,
		amr: stringList(cl["amr"]), act: act,
	}
	t.acr, _ = cl["acr"].(string)
	t.expiresAt, _ = numTime(cl["exp"])
	t.authTime, _ = numTime(cl["auth_time"])
	return t, nil
}

// explain says why fosite refused an actas token, without revealing more than the client may know
// (the token is the client's own input).
func (h *Handler) explain(ctx context.Context, raw string) string {
	if _, err := h.deps.Strategy.Signer.Decode(ctx, raw); err != nil {
		return describeJWTError(err)
	}
	return "it is unknown to this server or has been revoked"
}

// describeJWTError turns a fosite jwt validation error into words.
func describeJWTError(err error) string {
	var ve *jwt.ValidationError
	if !errors.As(err, &ve) {
		return "its signature could not be verified"
	}
	switch {
	case ve.Has(jwt.ValidationErrorMalformed):
		return "it is malformed"
	case ve.Has(jwt.ValidationErrorUnverifiable):
		return "its key id or algorithm is not one of this server's signing keys"
	case ve.Has(jwt.ValidationErrorSignatureInvalid):
		return "its signature is invalid"
	case ve.Has(jwt.ValidationErrorExpired):
		return "it has expired"
	case ve.Has(jwt.ValidationErrorNotValidYet):
		return "it is not valid yet"
	case ve.Has(jwt.ValidationErrorIssuedAt):
		return "it was issued in the future"
	}
	return "it is invalid"
}

// stringList reads a claim that is a string or an array of strings.
func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok && s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// numTime reads a NumericDate claim (RFC 7519 §2).
func numTime(v any) (time.Time, bool) {
	var sec float64
	switch x := v.(type) {
	case float64:
		sec = x
	case int64:
		sec = float64(x)
	case int:
		sec = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return time.Time{}, false
		}
		sec = f
	default:
		return time.Time{}, false
	}
	if sec <= 0 || sec > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(sec), 0).UTC(), true
}

func firstString(vals ...any) string {
	for _, v := range vals {
		if s, ok := v.(string); ok && s != "" {
			return s
		}
	}
	return ""
}

func firstOf(list []string) any {
	if len(list) == 0 {
		return nil
	}
	return list[0]
}
