package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
)

// consentDeniedParam is what the consent page appends to the request when the user denies it.
const consentDeniedParam = login.ConsentDeniedParam

// authorize is GET/POST /oauth2/auth: the authorization code flow (RFC 6749 §4.1, OIDC Core §3.1).
//
// Order: sizes and repeated parameters (RFC 6749 §3.1); fosite validates the client, redirect
// URI, scopes, response type and mode, and state; then we refuse what we do not offer (request
// objects, response types other than code) and, before any login page, what fosite would refuse
// only when issuing the code (PKCE, prompt, nonce, max_age: [Provider.checkAuthorizeParams]);
// then login (prompt, max_age, id_token_hint), then consent, then the code. Every answer that goes
// back to the client carries `iss` (RFC 9207) and uses the query. A missing or unknown client or
// an invalid redirect URI gets a 400 error page and never a redirect.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request could not be parsed.")
		return
	}
	var duplicated string
	for name, vals := range r.Form {
		for _, v := range vals {
			if len(v) > maxParamLen {
				writeJSONError(w, http.StatusBadRequest, "invalid_request", "The parameter '"+truncate(name, 40)+"' is too long.")
				return
			}
		}
		if len(vals) > 1 {
			// RFC 6749 §3.1: no parameter may be repeated. Without one client and one redirect
			// URI there is nowhere safe to send the error.
			if name == "client_id" || name == "redirect_uri" {
				writeJSONError(w, http.StatusBadRequest, "invalid_request", "The parameter '"+name+"' must not be included more than once.")
				return
			}
			duplicated = name
		}
	}
	// response_mode=query is the default of the code flow, which fosite only accepts from clients
	// registering response modes; every other mode is refused below, answered in the query.
	if r.Form.Get("response_mode") == string(fosite.ResponseModeQuery) {
		r.Form.Del("response_mode")
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
	if duplicated != "" {
		p.writeAuthorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHintf("The parameter '%s' must not be included more than once.", truncate(duplicated, 40)))
		return
	}
	if !ar.GetResponseTypes().ExactOne("code") {
		p.writeAuthorizeError(w, r, ar, fosite.ErrUnsupportedResponseType.WithHint("Only response_type=code is supported."))
		return
	}
	if r.Form.Get(consentDeniedParam) == "denied" {
		p.writeAuthorizeError(w, r, ar, fosite.ErrAccessDenied.WithHint("The user denied the request at the consent page."))
		return
	}
	// Checked here, before login, what fosite would only check when issuing the code.
	if err := p.checkAuthorizeParams(r, ar); err != nil {
		p.writeAuthorizeError(w, r, ar, err)
		return
	}
	if n, _ := strconv.ParseInt(r.Form.Get("max_age"), 10, 64); n > maxMaxAge {
		// No login is that old: no limit. fosite's own check at issuance would overflow
		// (max_age × 1 s beyond time.Duration) and answer login_required.
		r.Form.Del("max_age")
		ar.GetRequestForm().Del("max_age")
	}
	prompt := strings.Fields(r.Form.Get("prompt"))
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
		// A login that exists but does not do (prompt=login, max_age, another user's
		// id_token_hint) must be asked for again, so the login page gets prompt=login. The request
		// resumes without what the fresh login satisfies, or it would ask again forever.
		loginPrompt := r.Form.Get("prompt")
		if login != nil && !slices.Contains(prompt, "login") {
			loginPrompt = strings.TrimSpace(loginPrompt + " login")
		}
		back, ok := p.resumable(w, r, ar, "login")
		if !ok {
			return
		}
		http.Redirect(w, r, p.opts.Login.LoginURL(back, loginPrompt, r.Form.Get("login_hint")), http.StatusSeeOther)
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
			back, ok := p.resumable(w, r, ar, "consent")
			if !ok {
				return
			}
			u, err := p.opts.Login.ConsentURL(ctx, login.Subject, back, client.GetID(), name, scopes)
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
	// Recorded before the response exists, so that no client holds an ID token of this login
	// session that its end would not announce (back-channel logout). A session ended meanwhile
	// (logged out in another tab) issues nothing.
	if err := p.opts.Login.RecordClient(ctx, login, client.GetID()); err != nil {
		switch {
		case unavailable(err):
			p.writeUnavailable(w, r, "authorize", err)
		case errors.Is(err, errLoginEnded):
			p.writeAuthorizeError(w, r, ar, fosite.ErrLoginRequired.WithHint("The login session ended during this authorization; sign in again."))
		default:
			p.writeAuthorizeError(w, r, ar, fosite.ErrServerError.WithWrap(err))
		}
		return
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

// errLoginEnded is what Login.RecordClient wraps when the login session has ended.
var errLoginEnded = login.ErrNoSession

// userSession builds the session for a user's login: ID token claims and access-token context.
func (p *Provider) userSession(user *storage.User, ls *storage.LoginSession, clientID string) *Session {
	s := p.newSession(user.ID)
	s.ClientID = clientID
	s.AuthTime = ls.AuthTime.UTC()
	s.AMR = ls.AMR
	s.ACR = ls.ACR
	s.Username = user.Username
	c := s.Claims
	c.Issuer = p.opts.Issuer
	c.AuthTime = ls.AuthTime.UTC()
	c.AuthenticationMethodsReferences = ls.AMR
	c.AuthenticationContextClassReference = ls.ACR
	if c.Extra == nil {
		c.Extra = map[string]any{}
	}
	c.Extra["azp"] = clientID
	c.Extra["sid"] = login.SIDOf(ls)
	return s
}

// maxMaxAge is the largest max_age, in seconds, that a time.Duration holds (292 years); a larger
// one means no limit.
const maxMaxAge = int64(math.MaxInt64 / time.Second)

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
	if n > maxMaxAge {
		return false // no login is that old (and n × 1 s would overflow)
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

// checkAuthorizeParams refuses, before the user is asked to log in, what fosite would refuse only
// when issuing the code, and what we do not support:
//   - PKCE (RFC 7636): a code_challenge is required from public clients (and from every client with
//     EnforcePKCE); S256 only, so the challenge is 43 base64url characters (§4.2);
//   - prompt values other than none, login and consent, and none combined with another (OIDC Core
//     §3.1.2.1);
//   - a nonce shorter than fosite's minimum entropy (8 characters);
//   - a max_age that is not a non-negative integer.
func (p *Provider) checkAuthorizeParams(r *http.Request, ar fosite.AuthorizeRequester) error {
	challenge, method := r.Form.Get("code_challenge"), r.Form.Get("code_challenge_method")
	switch {
	case challenge == "" && method != "":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method was sent without a code_challenge.")
	case challenge == "" && (p.opts.EnforcePKCE || ar.GetClient().IsPublic()):
		return fosite.ErrInvalidRequest.WithHint("This client must use PKCE: send a code_challenge with code_challenge_method=S256 (RFC 7636).")
	case challenge != "" && method != "S256":
		return fosite.ErrInvalidRequest.WithHint("code_challenge_method must be S256; plain is not supported (RFC 7636 §4.3).")
	case challenge != "" && !validS256Challenge(challenge):
		return fosite.ErrInvalidRequest.WithHint("code_challenge must be the 43-character base64url encoding of a SHA-256 hash (RFC 7636 §4.2).")
	}
	prompt := strings.Fields(r.Form.Get("prompt"))
	for _, v := range prompt {
		if !slices.Contains(p.config.AllowedPromptValues, v) {
			return fosite.ErrInvalidRequest.WithHintf("The prompt value '%s' is not supported.", truncate(v, 40))
		}
	}
	if slices.Contains(prompt, "none") && len(prompt) > 1 {
		return fosite.ErrInvalidRequest.WithHint("prompt=none cannot be combined with other values.")
	}
	if n := r.Form.Get("nonce"); n != "" && len(n) < p.config.MinParameterEntropy {
		return fosite.ErrInvalidRequest.WithHintf("The 'nonce' parameter must be at least %d characters long.", p.config.MinParameterEntropy)
	}
	if v := r.Form.Get("max_age"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err != nil || n < 0 {
			return fosite.ErrInvalidRequest.WithHint("max_age must be a non-negative number of seconds.")
		}
	}
	return nil
}

func validS256Challenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	// Strict: a challenge whose last character carries non-zero padding bits is not the encoding of
	// any hash, so no verifier could ever match it: refuse it here, not at the token endpoint.
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// resumable returns the return_to with which the login or consent page (satisfied) resumes the
// request. Each parameter is bounded, but together they may still not fit the pages' return_to
// ([login.MaxReturnToLen]): then it writes invalid_request and returns false, rather than send the
// user to a page that cannot come back.
func (p *Provider) resumable(w http.ResponseWriter, r *http.Request, ar fosite.AuthorizeRequester, satisfied string) (string, bool) {
	back := returnTo(r, satisfied)
	if len(back) > login.MaxReturnToLen {
		p.writeAuthorizeError(w, r, ar, fosite.ErrInvalidRequest.WithHintf(
			"The authorization request is too long: its parameters take %d bytes once encoded, at most %d.", len(back), login.MaxReturnToLen))
		return "", false
	}
	return back, true
}

// returnTo rebuilds the authorization request as a relative GET URL for after login or consent,
// without the prompt value that step satisfies (so the user is not sent round again). After login,
// max_age and id_token_hint are satisfied too: the login is fresh and the user chose who to be
// (the relying party checks `sub` and `auth_time`).
func returnTo(r *http.Request, satisfied string) string {
	q := url.Values{}
	for k, v := range r.Form {
		if satisfied == "login" && (k == "max_age" || k == "id_token_hint") {
			continue
		}
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
	rfc := fosite.ErrorToRFC6749Error(err)
	if rfc.ErrorField == fosite.ErrInvalidState.ErrorField {
		// fosite's invalid_state is no RFC 6749 §4.1.2.1 code.
		err = fosite.ErrInvalidRequest.WithHintf("The 'state' parameter must be at least %d characters long.", p.config.MinParameterEntropy)
	}
	if ar == nil || !ar.IsRedirectURIValid() {
		// RFC 6749 §4.1.2.1: with no valid client and redirect URI, never redirect. An error page
		// for the user, 400 whatever fosite's status (invalid_client would say 401).
		rfc = fosite.ErrorToRFC6749Error(err)
		status := rfc.CodeField
		if status < 500 {
			status = http.StatusBadRequest
		}
		writeJSONError(w, status, rfc.ErrorField, rfc.GetDescription())
		return
	}
	// Error redirects use the query (the code flow's mode, and where `iss` is added); other
	// response modes are refused.
	if a, ok := ar.(*fosite.AuthorizeRequest); ok {
		a.ResponseMode = fosite.ResponseModeQuery
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
