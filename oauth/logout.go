package oauth

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"

	"github.com/ory/fosite/token/jwt"

	"github.com/actas-dev/actas/oauth/login"
	"github.com/actas-dev/actas/storage"
)

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign out — actas</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="stylesheet" href="/assets/login/login.css"></head>
<body><main class="card">
{{if .Done}}<h1>You are signed out</h1><p>You can close this window.</p>
{{else}}<h1>Sign out?</h1><p>Do you want to sign out of actas?</p>
<form method="post" action="/oauth2/logout"><input type="hidden" name="confirm" value="yes">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if .ClientID}}<input type="hidden" name="client_id" value="{{.ClientID}}">{{end}}
{{if .Redirect}}<input type="hidden" name="post_logout_redirect_uri" value="{{.Redirect}}">{{end}}
{{if .State}}<input type="hidden" name="state" value="{{.State}}">{{end}}
<button type="submit">Sign out</button></form>{{end}}
</main></body></html>`))

// logout is GET/POST /oauth2/logout (OIDC RP-Initiated Logout 1.0). With a valid id_token_hint
// issued under the browser's login session (its sub and sid) it ends that session at once.
// Otherwise (no hint, or a hint of another user or of an earlier session: §2 says to ask) it asks
// the user to confirm: a POST
// that must be same-origin and carry the login session's CSRF token, so another site can neither
// log the user out nor make them confirm. post_logout_redirect_uri is honoured only when
// registered for the client named by the hint (or client_id), and gets `state` back; an
// unregistered one is a 400, never a redirect.
func (p *Provider) logout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "The request could not be parsed.")
		return
	}
	hint := r.Form.Get("id_token_hint")
	redirect := r.Form.Get("post_logout_redirect_uri")
	clientID := r.Form.Get("client_id")
	state := r.Form.Get("state")
	if len(hint) > maxTokenLen || len(redirect) > maxParamLen || len(state) > maxParamLen || len(clientID) > maxParamLen {
		writeJSONError(w, http.StatusBadRequest, "invalid_request", "A parameter is too long.")
		return
	}

	hintSub, hintSID := "", ""
	if hint != "" {
		tok, ok := p.decodeIDToken(r, hint)
		if !ok {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "id_token_hint is not an ID token issued by this server.")
			return
		}
		aud := audience(tok.Claims["aud"])
		if clientID != "" && !slices.Contains(aud, clientID) {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "client_id does not match the audience of id_token_hint.")
			return
		}
		if clientID == "" && len(aud) > 0 {
			clientID = aud[0]
		}
		hintSub, _ = tok.Claims["sub"].(string)
		hintSID, _ = tok.Claims["sid"].(string)
	}
	if redirect != "" {
		if clientID == "" {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "post_logout_redirect_uri needs id_token_hint or client_id to identify the client.")
			return
		}
		c, err := p.opts.Store.GetClient(ctx, clientID)
		if err != nil {
			if unavailable(err) {
				p.writeUnavailable(w, r, "logout", err)
				return
			}
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "The client is unknown.")
			return
		}
		sc, ok := c.(*storage.Client)
		if !ok || !slices.Contains(sc.PostLogoutRedirectURIs, redirect) {
			writeJSONError(w, http.StatusBadRequest, "invalid_request", "post_logout_redirect_uri is not registered for this client.")
			return
		}
	}

	ls, err := p.opts.Login.Current(r)
	if err != nil {
		if unavailable(err) {
			p.writeUnavailable(w, r, "logout", err)
			return
		}
		ls = nil // no login session: nothing to end
	}
	var confirmed bool
	switch {
	case ls == nil:
		confirmed = true
	case hintSub != "" && hintSub == ls.Subject && hintSID == login.SIDOf(ls):
		// A hint from this very login session (§2: otherwise the request is suspect, so ask).
		confirmed = true
	case r.Method == http.MethodPost && r.PostForm.Get("confirm") == "yes":
		if p.crossOrigin(r) {
			writeJSONError(w, http.StatusForbidden, "invalid_request", "Cross-origin sign-out requests are refused.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf")), []byte(ls.CSRFToken)) != 1 || ls.CSRFToken == "" {
			writeJSONError(w, http.StatusForbidden, "invalid_request", "The sign-out form is stale or forged; open the sign-out page again.")
			return
		}
		confirmed = true
	}
	if !confirmed {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = logoutPage.Execute(w, map[string]any{"State": state, "CSRF": ls.CSRFToken, "ClientID": clientID, "Redirect": redirect})
		return
	}
	if ls != nil {
		if err := p.opts.Login.EndLoginSession(ctx, w, r); err != nil && !errors.Is(err, storage.ErrNotFound) {
			if unavailable(err) {
				p.writeUnavailable(w, r, "logout", err)
				return
			}
			p.log.ErrorContext(ctx, "logout failed", "err", err)
			writeJSONError(w, http.StatusInternalServerError, "server_error", "The session could not be ended.")
			return
		}
	}
	if redirect != "" {
		u, _ := url.Parse(redirect)
		if state != "" {
			q := u.Query()
			q.Set("state", state)
			u.RawQuery = q.Encode()
		}
		http.Redirect(w, r, u.String(), http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = logoutPage.Execute(w, map[string]any{"Done": true})
}

// crossOrigin reports whether a browser sent r from another origin than actas's (Sec-Fetch-Site,
// else Origin against Host; the issuer's origin is trusted, for a server behind a proxy).
func (p *Provider) crossOrigin(r *http.Request) bool {
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(p.opts.Issuer); err == nil {
		_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	return cop.Check(r) != nil
}

// audience reads an `aud` claim, a string or an array of strings (RFC 7519 §4.1.3).
func audience(v any) []string {
	switch a := v.(type) {
	case string:
		return []string{a}
	case []string:
		return a
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// decodeIDToken verifies the signature of an ID token issued by actas, tolerating expiry.
func (p *Provider) decodeIDToken(r *http.Request, raw string) (*jwt.Token, bool) {
	tok, err := p.idSigner.Decode(r.Context(), raw)
	if err != nil {
		var ve *jwt.ValidationError
		if !errors.As(err, &ve) || ve.Errors != jwt.ValidationErrorExpired {
			return nil, false
		}
	}
	if tok == nil {
		return nil, false
	}
	if typ, _ := tok.Header["typ"].(string); typ != "" && typ != "JWT" {
		return nil, false // an access token (at+jwt) or logout token is not an ID token
	}
	if iss, _ := tok.Claims["iss"].(string); iss != p.opts.Issuer {
		return nil, false
	}
	return tok, true
}
