package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// authorize is GET/POST /oauth2/auth: the authorization code flow (RFC 6749 §4.1, OIDC Core §3.1).
//
// Order: fosite validates the client, redirect URI, scopes, PKCE and state/nonce; then we refuse
// what we do not offer (request objects, response types other than code), then login
// (prompt, max_age, id_token_hint), then consent, then the code. Every answer that goes back to
// the client carries `iss` (RFC 9207). An invalid redirect URI never redirects.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request could not be parsed.")
		return
	}
	for name, vals := range r.Form {
		for _, v := range vals {
			if len(v) > maxParamLen {
				writeJSONError(w, http.StatusBadRequest, "invalid_request", "The parameter '"+truncate(name, 40)+"' is too long.")
				return
			}
		}
	}
	// Request objects are not supported (discovery says so). Validate the client and redirect URI
	// without them first, so the error can go back to a registered redirect URI.
	var unsupported *fosite.RFC6749Error
	switch {
	case r.Form.Has("request"):
		unsupported = fosite.ErrRequestNotSupported.WithHint("Request objects are not supported by this server.")
	case r.Form.Has("request_uri"):
		unsupported = fosite.ErrRequestURINotSupported.WithHint("request_uri is not supported by this server.")
	}
	if unsupported != nil {
		r.Form.Del("request")
		r.Form.Del("request_uri")
	}

	ar, err := p.oauth2.NewAuthorizeRequest(ctx, r)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	if unsupported != nil {
		p.writeAuthorizeError(w, r, ar, unsupported)
		return
	}
	if !ar.GetResponseTypes().ExactOne("code") {
		p.writeAuthorizeError(w, r, ar, fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported."))
		return
	}
	prompt := strings.Fields(r.Form.Get("prompt"))
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		p.writeAuthorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values."))
		return
	}
	promptNone := slices.Contains(prompt, "none")

	login, err := p.opts.Login.Current(r)
	if err != nil && unavailable(err) {
		p.writeUnavailable(w, r, "authorize", err)
		return
	}
	var user *storage.User
	if login != nil {
		user, err = p.opts.Store.GetUser(ctx, login.Subject)
		switch {
		case err != nil && unavailable(err):
			p.writeUnavailable(w, r, "authorize", err)
			return
		case err != nil || user.Disabled:
			login, user = nil, nil
		}
	}
	needLogin := login == nil || slices.Contains(prompt, "login") || p.maxAgeExceeded(r, login)
	if login != nil && !needLogin && r.Form.Get("id_token_hint") != "" {
		if sub, ok := p.hintSubject(r, r.Form.Get("id_token_hint")); !ok || sub != login.Subject {
			needLogin = true
		}
	}
	if needLogin {
		if promptNone {
			p.writeAuthorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The user is not logged in (or must log in again) and prompt=none forbids asking."))
			return
		}
		http.Redirect(w, r, p.opts.Login.LoginURL(returnTo(r, "login"), r.Form.Get("prompt"), r.Form.Get("login_hint")), http.StatusSeeOther)
		return
	}

	client := ar.GetClient()
	scopes := ar.GetRequestedScopes()
	if c, ok := client.(*storage.Client); !ok || !c.FirstParty {
		has, err := p.opts.Login.HasConsent(ctx, login.Subject, client.GetID(), scopes)
		if err != nil {
			if unavailable(err) {
				p.writeUnavailable(w, r, "authorize", err)
				return
			}
			p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
			return
		}
		if !has || slices.Contains(prompt, "consent") {
			if promptNone {
				p.writeAuthorizeError(w, r, ar, fosite.ErrConsentRequired.WithHint("The user has not approved these scopes for this client and prompt=none forbids asking."))
				return
			}
			name := client.GetID()
			if c, ok := client.(*storage.Client); ok && c.Name != "" {
				name = c.Name
			}
			u, err := p.opts.Login.ConsentURL(ctx, returnTo(r, "consent"), client.GetID(), name, scopes)
			if err != nil {
				if unavailable(err) {
					p.writeUnavailable(w, r, "authorize", err)
					return
				}
				p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
				return
			}
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}

	for _, s := range scopes {
		ar.GrantScope(s)
	}
	for _, a := range ar.GetRequestedAudience() {
		ar.GrantAudience(a)
	}
	session := p.userSession(user, login, client.GetID())
	session.Claims.RequestedAt = ar.GetRequestedAt()
	if c, ok := client.(*storage.Client); ok && c.IDTokenSigningAlg != "" {
		session.Headers.Add("alg", c.IDTokenSigningAlg)
	}
	resp, err := p.oauth2.NewAuthorizeResponse(ctx, ar, session)
	if err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	resp.AddParameter("iss", p.opts.Issuer)
	p.oauth2.WriteAuthorizeResponse(ctx, w, ar, resp)
}

// userSession builds the session for a user's login: ID token claims and access-token context.
func (p *Provider) userSession(user *storage.User, login *storage.LoginSession, clientID string) *Session {
	s := p.newSession(user.ID)
	s.ClientID = clientID
	s.AuthTime = login.AuthTime.UTC()
	s.AMR = login.AMR
	s.ACR = login.ACR
	s.Username = user.Username
	c := s.Claims
	c.Issuer = p.opts.Issuer
	c.AuthTime = login.AuthTime.UTC()
	c.AuthenticationMethodsReferences = login.AMR
	c.AuthenticationContextClassReference = login.ACR
	if c.Extra == nil {
		c.Extra = map[string]any{}
	}
	c.Extra["azp"] = clientID
	c.Extra["sid"] = LoginSID(login.ID)
	return s
}

// LoginSID is the `sid` published for a login session: a hash, never the cookie value itself.
func LoginSID(loginSessionID string) string {
	h := sha256.Sum256([]byte("actas sid v1:" + loginSessionID))
	return base64.RawURLEncoding.EncodeToString(h[:18])
}

// maxAgeExceeded implements OIDC Core §3.1.2.1 max_age.
func (p *Provider) maxAgeExceeded(r *http.Request, login *storage.LoginSession) bool {
	v := r.Form.Get("max_age")
	if v == "" || login == nil {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return true
	}
	return time.Since(login.AuthTime) > time.Duration(n)*time.Second
}

// hintSubject returns the subject of an ID token we issued (an expired one is fine: OIDC Core
// §3.1.2.1 id_token_hint).
func (p *Provider) hintSubject(r *http.Request, hint string) (string, bool) {
	tok, ok := p.decodeIDToken(r, hint)
	if !ok {
		return "", false
	}
	sub, _ := tok.Claims["sub"].(string)
	return sub, sub != ""
}

// returnTo rebuilds the authorization request as a relative GET URL for after login or consent,
// without the prompt value that step satisfies (so the user is not sent round again).
func returnTo(r *http.Request, satisfied string) string {
	q := url.Values{}
	for k, v := range r.Form {
		if k == "prompt" {
			var keep []string
			for _, pv := range strings.Fields(r.Form.Get("prompt")) {
				if pv != satisfied {
					keep = append(keep, pv)
				}
			}
			if len(keep) > 0 {
				q.Set("prompt", strings.Join(keep, " "))
			}
			continue
		}
		q[k] = v
	}
	return "/oauth2/auth?" + q.Encode()
}

// writeAuthorizeError answers with fosite's error (JSON when the redirect URI is not valid, a
// redirect otherwise) and adds `iss` to the redirect (RFC 9207).
func (p *Provider) writeAuthorizeError(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, err error) {
	if unavailable(err) {
		p.writeUnavailable(w, r, "authorize", err)
		return
	}
	p.logServerError(r, "authorize", err)
	if ar == nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", fosite.ErrorToRFC6749Error(err).GetDescription())
		return
	}
	p.oauth2.WriteAuthorizeError(r.Context(), &issWriter{ResponseWriter: w, iss: p.opts.Issuer}, ar, err)
}

// issWriter adds iss to the Location of an authorization error redirect.
type issWriter struct {
	http.ResponseWriter
	iss string
}

func (w *issWriter) WriteHeader(code int) {
	if loc := w.Header().Get("Location"); loc != "" && code >= 300 && code < 400 {
		if u, err := url.Parse(loc); err == nil {
			q := u.Query()
			q.Set("iss", w.iss)
			u.RawQuery = q.Encode()
			w.Header().Set("Location", u.String())
		}
	}
	w.ResponseWriter.WriteHeader(code)
}
