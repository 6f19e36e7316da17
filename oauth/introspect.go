package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// clientAuthenticator is the part of *fosite.Fosite that authenticates a client at the token,
// introspection and revocation endpoints (client_secret_basic, client_secret_post, none).
type clientAuthenticator interface {
	AuthenticateClient(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error)
}

// introspect is POST /oauth2/introspect (RFC 7662). The caller authenticates as a confidential
// client, with client_secret_basic or client_secret_post (§2.1; a bearer token is not accepted,
// nor is a public client, which has nothing to authenticate with); a failed authentication is 401
// invalid_client (§2.3). An unknown, expired or revoked token is exactly {"active": false}. A
// storage outage is a 503, never "inactive" (a resource server must not mistake an outage for a
// revocation, nor the reverse).
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := checkParams(r); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", fosite.ErrorToRFC6749Error(err).GetDescription())
		return
	}
	if r.Header.Get("Authorization") != "" {
		if _, _, basic := r.BasicAuth(); !basic {
			p.writeClientError(w, r, "introspect", fosite.ErrInvalidClient.WithHint("Authenticate as a client (client_secret_basic or client_secret_post); a bearer token is not accepted here."))
			return
		}
	}
	client, err := p.authenticateClient(ctx, r)
	if err != nil {
		p.writeClientError(w, r, "introspect", err)
		return
	}
	if client.IsPublic() {
		p.writeClientError(w, r, "introspect", fosite.ErrInvalidClient.WithHint("A public client cannot authenticate, so it cannot introspect tokens (RFC 7662 §2.1)."))
		return
	}
	token := r.PostForm.Get("token")
	if token == "" {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The 'token' parameter is missing.")
		return
	}
	tu, ar, err := p.oauth2.IntrospectToken(ctx, token, fosite.TokenUse(r.PostForm.Get("token_type_hint")), p.newSession(""))
	if err != nil {
		if unavailable(err) {
			p.writeUnavailable(w, r, "introspect", err)
			return
		}
		p.oauth2.WriteIntrospectionResponse(ctx, w, &fosite.IntrospectionResponse{Active: false})
		return
	}
	if err := p.checkGuard(ctx, ar); err != nil {
		if unavailable(err) {
			p.writeUnavailable(w, r, "introspect", err)
			return
		}
		p.oauth2.WriteIntrospectionResponse(ctx, w, &fosite.IntrospectionResponse{Active: false})
		return
	}
	// A token of a user who has since been removed or disabled is no longer active.
	if s, ok := ar.GetSession().(*Session); ok {
		if err := checkActiveUser(ctx, p.opts.Store, ar, s); err != nil {
			if !errors.Is(err, errInactiveUser) {
				p.writeUnavailable(w, r, "introspect", err)
				return
			}
			p.oauth2.WriteIntrospectionResponse(ctx, w, &fosite.IntrospectionResponse{Active: false})
			return
		}
	}
	resp := &fosite.IntrospectionResponse{Active: true, AccessRequester: ar, TokenUse: tu}
	if tu == fosite.AccessToken {
		resp.AccessTokenType = fosite.BearerAccessToken
	}
	p.oauth2.WriteIntrospectionResponse(ctx, w, resp)
}

// authenticateClient authenticates the calling client (RFC 6749 §2.3) after [Provider.clientAuth].
func (p *Provider) authenticateClient(ctx context.Context, r *http.Request) (fosite.Client, error) {
	if err := p.clientAuth(ctx, r); err != nil {
		return nil, err
	}
	a, ok := p.oauth2.(clientAuthenticator)
	if !ok {
		return nil, fosite.ErrServerError.WithHint("Client authentication is not available.")
	}
	return a.AuthenticateClient(ctx, r, r.PostForm)
}

// writeClientError answers a failed client authentication: 401 invalid_client with
// WWW-Authenticate (RFC 6749 §5.2), 503 when storage is down, or the error's own code.
func (p *Provider) writeClientError(w http.ResponseWriter, r *http.Request, op string, err error) {
	rfc := fosite.ErrorToRFC6749Error(err)
	if unavailable(err) || rfc.ErrorField == fosite.ErrTemporarilyUnavailable.ErrorField {
		p.writeUnavailable(w, r, op, err)
		return
	}
	p.logServerError(r, op, err)
	if rfc.CodeField == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="actas"`)
	}
	writeJSONError(w, rfc.CodeField, rfc.ErrorField, rfc.GetDescription())
}

// revoke is POST /oauth2/revoke (RFC 7009). The caller authenticates as a client (a public client
// by its client_id). A client may revoke only its own tokens: another client's token is refused
// with unauthorized_client and stays valid (§2.1). Revoking a refresh token revokes the access
// tokens of its grant, and the reverse (§2.1 allows it; fosite revokes the whole grant). An unknown
// or already invalid token is a 200 (§2.2). fosite's writer answers 200 even when storage failed:
// we answer 503 then, because the token was not revoked.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := checkParams(r); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", fosite.ErrorToRFC6749Error(err).GetDescription())
		return
	}
	if err := p.clientAuth(ctx, r); err != nil {
		p.writeClientError(w, r, "revoke", err)
		return
	}
	if r.PostForm.Get("token") == "" {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The 'token' parameter is missing.")
		return
	}
	ctx, revoked := withRevokeMark(ctx)
	err := p.oauth2.NewRevocationRequest(ctx, r)
	switch {
	case err == nil:
		// Reported only when a token of the caller was found and revoked: an unknown token is a
		// 200 too (§2.2), and anyone holding a public client id could otherwise fill the audit
		// trail with revocations of nothing.
		if p.opts.OnTokenRevoked != nil && revoked.Load() {
			id, _, _ := r.BasicAuth()
			if id == "" {
				id = r.PostForm.Get("client_id")
			}
			p.opts.OnTokenRevoked(ctx, id, r.PostForm.Get("token_type_hint"))
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
	case errors.Is(err, fosite.ErrUnauthorizedClient):
		writeJSONError(w, http.StatusBadRequest, "unauthorized_client", "The token was not issued to this client; it was not revoked.")
	default:
		// invalid_client (401), invalid_request, and temporarily_unavailable (503) when storage
		// failed to revoke: never a 200 then.
		p.writeClientError(w, r, "revoke", err)
	}
}

// checkGuard asks the session guard about a token issued under a representation.
func (p *Provider) checkGuard(ctx context.Context, ar fosite.Requester) error {
	s, ok := ar.GetSession().(*Session)
	if !ok || s.SID == "" || p.opts.RefreshGuard == nil {
		return nil
	}
	return p.opts.RefreshGuard(ctx, s)
}
