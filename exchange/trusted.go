package exchange

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/ory/fosite"
)

// trustedIssuer verifies the JWTs of one configured foreign issuer with go-jose v4 and an explicit
// algorithm allow-list.
type trustedIssuer struct {
	cfg  TrustedIssuer
	algs []jose.SignatureAlgorithm
	keys *keyCache
	now  func() time.Time
	log  *slog.Logger
}

func newTrustedIssuer(cfg TrustedIssuer, client *http.Client, now func() time.Time, log *slog.Logger) *trustedIssuer {
	t := &trustedIssuer{cfg: cfg, now: now, log: log}
	for _, a := range cfg.Algorithms {
		t.algs = append(t.algs, jose.SignatureAlgorithm(a))
	}
	t.keys = newKeyCache(&t.cfg, client, now)
	return t
}

// verify checks a foreign JWT presented as type typ in role r: allowed algorithm, key by kid from
// the issuer's JWKS, signature, explicit type (an ID token is never an access token and the
// reverse), iss, the configured audience, exp (required), nbf and iat within the clock skew; then
// maps its claims.
func (t *trustedIssuer) verify(ctx context.Context, c *client, typ, raw string, r role) (*token, error) {
	if len(t.cfg.Clients) > 0 && !slices.Contains(t.cfg.Clients, c.id) {
		return nil, badRequest("The client may not present tokens of the issuer '%s'.", clip(t.cfg.Issuer))
	}
	tok, err := josejwt.ParseSigned(raw, t.algs)
	if err != nil {
		return nil, badRequest("The %s token is not a JWT signed with an algorithm allowed for its issuer (%s); 'none' and HMAC algorithms are never accepted.", r, strings.Join(t.cfg.Algorithms, ", "))
	}
	if len(tok.Headers) != 1 {
		return nil, badRequest("The %s token must carry exactly one signature.", r)
	}
	hd := tok.Headers[0]
	if err := t.checkType(hd, typ, r); err != nil {
		return nil, err
	}
	key, err := t.keys.key(ctx, hd.KeyID, hd.Algorithm)
	if err != nil {
		if errors.Is(err, ErrJWKSFetch) {
			t.log.WarnContext(ctx, "exchange: trusted issuer keys unavailable", "issuer", t.cfg.Issuer, "err", err)
			return nil, fosite.ErrTemporarilyUnavailable.WithHintf("The %s token cannot be verified now: the keys of its issuer could not be fetched. Retry shortly.", r)
		}
		return nil, badRequest("The %s token's key id is not one of its issuer's published keys.", r)
	}
	var std josejwt.Claims
	var all map[string]any
	if err := tok.Claims(key.Key, &std, &all); err != nil {
		return nil, badRequest("The %s token's signature is invalid.", r)
	}
	if err := t.checkClaims(&std, r); err != nil {
		return nil, err
	}
	return t.toToken(typ, &std, all)
}

// checkType applies RFC 8725 §3.11: access tokens must carry one of the configured access-token
// types; ID tokens must not carry a type of another kind of JWT.
func (t *trustedIssuer) checkType(hd jose.Header, typ string, r role) error {
	got, _ := hd.ExtraHeaders[jose.HeaderType].(string)
	n := normType(got)
	if typ == TokenTypeIDToken {
		if n != "" && n != "jwt" {
			return badRequest("The %s token is not an ID token (its JWT type is '%s').", r, clip(got))
		}
		return nil
	}
	for _, a := range t.cfg.AccessTokenTypes {
		if normType(a) == n {
			return nil
		}
	}
	return badRequest("The %s token is not an access token of its issuer (JWT type '%s'; accepted: %s): an ID token or any other JWT is never accepted as an access token.", r, clip(got), strings.Join(t.cfg.AccessTokenTypes, ", "))
}

func (t *trustedIssuer) checkClaims(std *josejwt.Claims, r role) error {
	if std.Expiry == nil {
		return badRequest("The %s token has no expiry.", r)
	}
	if std.Subject == "" {
		return badRequest("The %s token has no subject.", r)
	}
	err := std.ValidateWithLeeway(josejwt.Expected{
		Issuer:      t.cfg.Issuer,
		AnyAudience: josejwt.Audience{t.cfg.Audience},
		Time:        t.now(),
	}, t.cfg.ClockSkew)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, josejwt.ErrExpired):
		return badRequest("The %s token has expired.", r)
	case errors.Is(err, josejwt.ErrNotValidYet):
		return badRequest("The %s token is not valid yet.", r)
	case errors.Is(err, josejwt.ErrIssuedInTheFuture):
		return badRequest("The %s token was issued in the future.", r)
	case errors.Is(err, josejwt.ErrInvalidAudience):
		return badRequest("The %s token is not meant for this server: its audience must contain '%s'.", r, clip(t.cfg.Audience))
	case errors.Is(err, josejwt.ErrInvalidIssuer):
		return badRequest("The %s token's issuer does not match.", r)
	}
	return badRequest("The %s token's claims are invalid.", r)
}

func (t *trustedIssuer) toToken(typ string, std *josejwt.Claims, all map[string]any) (*token, error) {
	if all["events"] != nil {
		return nil, badRequest("A logout token is never accepted for an exchange.")
	}
	if typ != TokenTypeIDToken && all["nonce"] != nil {
		return nil, badRequest("The token carries a nonce: it is an ID token, not an access token.")
	}
	act, err := DecodeAct(all["act"], maxActDepthLimit)
	if err != nil {
		return nil, badRequest("The token's act claim is malformed.")
	}
	may, err := decodeMayAct(all[claimMayAct])
	if err != nil {
		return nil, badRequest("The token's may_act claim is malformed.")
	}
	m := t.cfg.Claims
	out := &token{
		typ: typ, issuer: t.cfg.Issuer, subject: std.Subject,
		clientID:      firstString(all["client_id"], all["azp"]),
		audience:      []string(std.Audience),
		scopes:        scopeClaim(all),
		expiresAt:     std.Expiry.Time().UTC(),
		amr:           stringList(all[m.AMR]),
		act:           withIssuer(act, t.cfg.Issuer),
		mayAct:        may,
		roles:         roleList(all[m.Roles]),
		subjectIssuer: t.cfg.Issuer,
	}
	out.acr, _ = all[m.ACR].(string)
	out.tenant, _ = all[m.Tenant].(string)
	out.authTime, _ = numTime(all[m.AuthTime])
	return out, nil
}

// scopeClaim reads `scope` (RFC 8693 §4.2, a space-separated string) or `scp` (a list).
func scopeClaim(all map[string]any) []string {
	if s, ok := all["scope"].(string); ok {
		return strings.Fields(s)
	}
	if s, ok := all["scp"].(string); ok {
		return strings.Fields(s)
	}
	return stringList(all["scp"])
}

// roleList reads a roles claim given as a list or as a space-separated string.
func roleList(v any) []string {
	if s, ok := v.(string); ok {
		return strings.Fields(s)
	}
	return stringList(v)
}
