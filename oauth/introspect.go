package oauth

import (
	"net/http"
)

// introspect is POST /oauth2/introspect (RFC 7662). The caller authenticates as a client; an
// unknown, expired or revoked token is {"active": false} and nothing else. A storage outage is a
// 503, never "inactive" (a resource server must not mistake an outage for a revocation, nor the
// reverse).
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
		return
	}
	if len(r.PostForm.Get("token")) > maxTokenLen {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The token parameter is too long.")
		return
	}
	resp, err := p.oauth2.NewIntrospectionRequest(ctx, r, p.newSession(""))
	if err != nil && unavailable(err) {
		p.writeUnavailable(w, r, "introspect", err)
		return
	}
	if err != nil {
		p.oauth2.WriteIntrospectionError(ctx, w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	p.oauth2.WriteIntrospectionResponse(ctx, w, resp)
}

// revoke is POST /oauth2/revoke (RFC 7009). A client may revoke only its own tokens; revoking a
// refresh token revokes the access tokens of its grant. fosite's writer answers 200 even when
// storage failed: we answer 503 then, because the token was not revoked.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request body could not be parsed.")
		return
	}
	if len(r.PostForm.Get("token")) > maxTokenLen {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The token parameter is too long.")
		return
	}
	err := p.oauth2.NewRevocationRequest(ctx, r)
	if err != nil && unavailable(err) {
		p.writeUnavailable(w, r, "revoke", err)
		return
	}
	if err != nil {
		p.logServerError(r, "revoke", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	p.oauth2.WriteRevocationResponse(ctx, w, err)
}
