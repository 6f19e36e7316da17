package oauth

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// bearerToken extracts an RFC 6750 bearer token from the Authorization header, or from the form
// body of a POST (§2.2). Two methods at once are refused.
func bearerToken(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	var fromHeader string
	if h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
			return "", errors.New("the Authorization header is not a bearer token")
		}
		if fromHeader = strings.TrimSpace(tok); fromHeader == "" {
			return "", errors.New("the Authorization header is not a bearer token")
		}
	}
	var fromBody string
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err == nil {
			fromBody = r.PostForm.Get("access_token")
		}
	}
	switch {
	case fromHeader != "" && fromBody != "":
		return "", errors.New("the token must be sent in exactly one way")
	case len(fromHeader) > maxTokenLen || len(fromBody) > maxTokenLen:
		return "", errors.New("the token is too long")
	case fromHeader != "":
		return fromHeader, nil
	case fromBody != "":
		return fromBody, nil
	}
	return "", nil
}

// writeBearerError answers per RFC 6750 §3.
func writeBearerError(w http.ResponseWriter, status int, code, desc string) {
	v := `Bearer realm="actas"`
	if code != "" {
		v += `, error="` + code + `", error_description="` + strings.ReplaceAll(desc, `"`, "'") + `"`
	}
	w.Header().Set("WWW-Authenticate", v)
	if code == "" {
		// RFC 6750 §3.1: a request without authentication gets no error code, so no body either.
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	writeJSONError(w, status, code, desc)
}

// userinfo is GET/POST /userinfo (OIDC Core §5.3): claims by granted scope, plus `act` and `sid`
// when the token was issued under a delegation or impersonation.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok, err := bearerToken(r)
	if err != nil {
		writeBearerError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if tok == "" {
		writeBearerError(w, http.StatusUnauthorized, "", "")
		return
	}
	// The token use is only a hint to fosite, which also accepts a refresh token: check it.
	use, ar, err := p.oauth2.IntrospectToken(ctx, tok, fosite.AccessToken, p.newSession(""))
	if err != nil || use != fosite.AccessToken {
		if err != nil && unavailable(err) {
			p.writeUnavailable(w, r, "userinfo", err)
			return
		}
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	if err := p.checkGuard(ctx, ar); err != nil {
		if unavailable(err) {
			p.writeUnavailable(w, r, "userinfo", err)
			return
		}
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The representation this token was issued under has ended.")
		return
	}
	if !ar.GetGrantedScopes().Has("openid") {
		writeBearerError(w, http.StatusForbidden, "insufficient_scope", "The access token was not granted the 'openid' scope.")
		return
	}
	s := ar.GetSession().(*Session)
	user, err := p.opts.Store.GetUser(ctx, s.GetSubject())
	switch {
	case err != nil && unavailable(err):
		p.writeUnavailable(w, r, "userinfo", err)
		return
	case errors.Is(err, storage.ErrNotFound) || err == nil && user.Disabled:
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The token's subject is no longer an active user.")
		return
	case err != nil:
		writeJSONError(w, http.StatusInternalServerError, "server_error", "The user could not be loaded.")
		return
	}
	claims := UserClaims(user, ar.GetGrantedScopes())
	if s.Act != nil {
		claims["act"] = s.Act.Map()
	}
	if s.SID != "" {
		claims["sid"] = s.SID
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(claims)
}

// UserClaims are the OIDC standard claims of user released for scopes (OIDC Core §5.4).
func UserClaims(user *storage.User, scopes fosite.Arguments) map[string]any {
	claims := map[string]any{"sub": user.ID}
	if scopes.Has("profile") {
		claims["preferred_username"] = user.Username
		if user.Name != "" {
			claims["name"] = user.Name
		}
	}
	if scopes.Has("email") && user.Email != "" {
		claims["email"] = user.Email
		claims["email_verified"] = user.EmailVerified
	}
	return claims
}
