package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// Principal is the caller of actas's own API (/api/v1/...), authenticated by a bearer access
// token that actas issued for itself.
type Principal struct {
	// Subject is the token's sub: a user id, or a client id for client-credentials tokens.
	Subject  string
	ClientID string
	Scopes   fosite.Arguments
	// User is the subject's user record; nil for a client acting on its own behalf.
	User     *storage.User
	AuthTime time.Time
	AMR      []string
	ACR      string
	// Token is the raw bearer token (for grants that take it as an actor token). Never log it.
	Token     string
	RequestID string
	ExpiresAt time.Time
}

// HasRole reports whether the principal is a user holding role.
func (p *Principal) HasRole(role string) bool { return p.User != nil && p.User.HasRole(role) }

// APIError is an RFC 6750 §3.1 error for actas's own API.
type APIError struct {
	Status      int
	Code        string // invalid_request, invalid_token, insufficient_scope
	Description string
	Err         error // the cause, for errors.Is (e.g. storage.ErrUnavailable)
}

func (e *APIError) Error() string { return e.Code + ": " + e.Description }
func (e *APIError) Unwrap() error { return e.Err }

// Write answers the error per RFC 6750 (503 temporarily_unavailable for a storage outage).
func (e *APIError) Write(w http.ResponseWriter) {
	if errors.Is(e.Err, storage.ErrUnavailable) {
		writeJSONError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "The authorization server's storage is unavailable. Retry shortly.")
		return
	}
	writeBearerError(w, e.Status, e.Code, e.Description)
}

// Authenticate checks the bearer token of a request to actas's own API. The token must be an
// access token issued by actas (signature, expiry and "not revoked" are checked against storage),
// carry the issuer in its audience, hold every scope in scopes, and must NOT carry `act`: a token
// issued under a delegation or impersonation never acts as its subject at actas's API (an agent
// acting as a customer cannot approve consents, stop sessions or read /me as that customer).
// A user subject must exist and not be disabled.
func (p *Provider) Authenticate(r *http.Request, scopes ...string) (*Principal, *APIError) {
	tok, err := bearerToken(r)
	if err != nil {
		return nil, &APIError{Status: http.StatusBadRequest, Code: "invalid_request", Description: err.Error()}
	}
	if tok == "" {
		return nil, &APIError{Status: http.StatusUnauthorized, Description: "A bearer access token issued by actas is required."}
	}
	return p.AuthenticateToken(r.Context(), tok, scopes...)
}

// AuthenticateToken is Authenticate for a token already extracted.
func (p *Provider) AuthenticateToken(ctx context.Context, tok string, scopes ...string) (*Principal, *APIError) {
	use, ar, err := p.oauth2.IntrospectToken(ctx, tok, fosite.AccessToken, p.newSession(""))
	if err != nil || use != fosite.AccessToken {
		if err != nil && unavailable(err) {
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Err: err}
		}
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "The access token is invalid, expired or revoked."}
	}
	s, ok := ar.GetSession().(*Session)
	if !ok {
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "The access token is not usable here."}
	}
	if s.Act != nil || s.SID != "" {
		return nil, &APIError{Status: http.StatusForbidden, Code: "invalid_token",
			Description: "A token issued under a delegation or impersonation (it carries 'act') is never accepted by actas's own API."}
	}
	aud := ar.GetGrantedAudience()
	if len(aud) == 0 {
		aud = s.DefaultAudience
	}
	if !slices.Contains(aud, p.opts.Issuer) {
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_token",
			Description: fmt.Sprintf("The access token's audience does not include actas (%s).", p.opts.Issuer)}
	}
	for _, sc := range scopes {
		if !ar.GetGrantedScopes().Has(sc) {
			return nil, &APIError{Status: http.StatusForbidden, Code: "insufficient_scope",
				Description: fmt.Sprintf("The access token lacks the scope %q.", sc)}
		}
	}
	pr := &Principal{Subject: s.GetSubject(), ClientID: ar.GetClient().GetID(), Scopes: ar.GetGrantedScopes(),
		AuthTime: s.AuthTime, AMR: s.AMR, ACR: s.ACR, Token: tok, RequestID: ar.GetID(),
		ExpiresAt: s.GetExpiresAt(fosite.AccessToken)}
	if pr.Subject != pr.ClientID {
		u, err := p.opts.Store.GetUser(ctx, pr.Subject)
		switch {
		case err != nil && unavailable(err):
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Err: err}
		case err != nil || u.Disabled:
			return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_token", Description: "The token's subject is no longer an active user."}
		}
		pr.User = u
	}
	return pr, nil
}

// AuthenticateClient authenticates a confidential client calling actas's API with its own
// credentials (HTTP Basic, RFC 6749 §2.3.1) — for resource servers reporting to actas. Public
// clients cannot authenticate and are refused.
func (p *Provider) AuthenticateClient(r *http.Request) (*storage.Client, *APIError) {
	if _, _, ok := r.BasicAuth(); !ok {
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_client",
			Description: "Client authentication with HTTP Basic (client id and secret) is required."}
	}
	c, err := p.authenticateClient(r.Context(), r)
	if err != nil {
		if unavailable(err) {
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Err: err}
		}
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Client authentication failed."}
	}
	sc, ok := c.(*storage.Client)
	if !ok || sc.IsPublic() {
		return nil, &APIError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "Only a confidential client may call this endpoint."}
	}
	return sc, nil
}
