package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ory/fosite"

	"github.com/actas-dev/actas/storage"
)

// maxParamLen bounds every token-endpoint parameter; token parameters get more room.
const (
	maxParamLen = 2048
	maxTokenLen = 16 << 10
)

// repeatable lists the token-request parameters that may appear more than once (RFC 8693 §2.1:
// audience and resource). RFC 6749 §3.2 forbids repeating any other.
var repeatable = map[string]bool{"audience": true, "resource": true}

var tokenParams = map[string]bool{"subject_token": true, "actor_token": true, "refresh_token": true, "code": true, "client_assertion": true}

// checkParams enforces "no duplicate parameters" and bounded sizes before fosite sees the request.
func checkParams(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return fosite.ErrInvalidRequest.WithHint("The request body could not be parsed as a form.")
	}
	for name, vals := range r.PostForm {
		if len(vals) > 1 && !repeatable[name] {
			return fosite.ErrInvalidRequest.WithHintf("The parameter '%s' must not be included more than once.", name)
		}
		limit := maxParamLen
		if tokenParams[name] {
			limit = maxTokenLen
		}
		for _, v := range vals {
			if len(v) > limit {
				return fosite.ErrInvalidRequest.WithHintf("The parameter '%s' exceeds %d bytes.", name, limit)
			}
		}
	}
	if len(r.URL.RawQuery) > 0 {
		return fosite.ErrInvalidRequest.WithHint("Token requests carry their parameters in the POST body, not the query string.")
	}
	return nil
}

// clientAuth normalises client authentication (RFC 6749 §2.3) before fosite sees a token,
// revocation or introspection request; r.ParseForm must have run.
//
//   - A client uses exactly one method: credentials in both the Authorization header and the body
//     are refused (invalid_request), and so is a body client_id naming another client than the
//     header.
//   - No client identification at all is invalid_client (RFC 6749 §5.2), where fosite would say
//     invalid_request. No grant of actas skips client authentication.
//   - A confidential client registered without an explicit token_endpoint_auth_method accepts
//     client_secret_post as well as client_secret_basic (discovery advertises both). fosite
//     accepts only the one method the client reports, client_secret_basic, so body credentials
//     are moved into the header form (RFC 6749 §2.3.1 encoding) for such a client.
//
// Only a storage outage is returned as an error besides the refusals: an unknown client is left
// to fosite, which answers invalid_client.
func (p *Provider) clientAuth(ctx context.Context, r *http.Request) error {
	basicID, _, hasBasic := r.BasicAuth()
	form := r.PostForm
	id, secret := form.Get("client_id"), form.Get("client_secret")
	assertion := form.Get("client_assertion") != "" || form.Get("client_assertion_type") != ""
	switch {
	case hasBasic && (secret != "" || assertion):
		return fosite.ErrInvalidRequest.WithHint("The client authenticated with more than one method; use exactly one (RFC 6749 §2.3).")
	case hasBasic && id != "":
		if dec, err := url.QueryUnescape(basicID); err == nil && dec != id {
			return fosite.ErrInvalidRequest.WithHint("The 'client_id' parameter does not match the client authenticated by the Authorization header.")
		}
	case !hasBasic && id == "" && !assertion && r.Header.Get("Authorization") == "":
		return fosite.ErrInvalidClient.WithHint("No client authentication was included: send the client's credentials, or its client_id for a public client (RFC 6749 §2.3).")
	case !hasBasic && secret != "":
		c, err := p.opts.Store.GetClient(ctx, id)
		if err != nil {
			if unavailable(err) {
				return err
			}
			return nil
		}
		if sc, ok := c.(*storage.Client); ok && !sc.Public && sc.TokenEndpointAuthMethod == "" {
			r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			form.Del("client_secret")
			r.Form.Del("client_secret")
		}
	}
	return nil
}

// token is POST /oauth2/token (RFC 6749 §3.2).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	session := p.newSession("")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSONError(w, http.StatusMethodNotAllowed, "invalid_request", "The token endpoint accepts only POST (RFC 6749 §3.2).")
		return
	}
	if err := checkParams(r); err != nil {
		p.writeTokenError(w, r, nil, err)
		return
	}
	if err := p.clientAuth(ctx, r); err != nil {
		p.writeTokenError(w, r, nil, err)
		return
	}
	gt := r.PostForm.Get("grant_type")
	switch {
	case gt == "":
		p.oauth2.WriteAccessError(ctx, w, fosite.NewAccessRequest(session),
			fosite.ErrInvalidRequest.WithHint("The 'grant_type' parameter is missing."))
		return
	case !p.grantTypes[gt]:
		p.oauth2.WriteAccessError(ctx, w, fosite.NewAccessRequest(session),
			fosite.ErrUnsupportedGrantType.WithHintf("The grant type '%s' is not supported by this server.", truncate(gt, 80)))
		return
	}

	ar, err := p.oauth2.NewAccessRequest(ctx, r, session)
	if err != nil {
		p.writeTokenError(w, r, ar, err)
		return
	}
	if ar.GetGrantTypes().ExactOne("refresh_token") {
		// RFC 6749 §6: a refresh may not ask for more than was granted. fosite ignores the scope
		// parameter and re-grants the original scopes; nothing is spent until NewAccessResponse.
		for _, sc := range fosite.RemoveEmpty(strings.Split(r.PostForm.Get("scope"), " ")) {
			if !ar.GetGrantedScopes().Has(sc) {
				p.writeTokenError(w, r, ar, fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this refresh token (RFC 6749 §6).", truncate(sc, 80)))
				return
			}
		}
	}
	if ar.GetGrantTypes().ExactOne("client_credentials") {
		// RFC 6749 §4.4: the client acts on its own behalf; fosite has checked each scope and
		// audience against the client's registration.
		s := ar.GetSession().(*Session)
		s.SetSubject(ar.GetClient().GetID())
		s.ClientID = ar.GetClient().GetID()
		for _, scope := range ar.GetRequestedScopes() {
			ar.GrantScope(scope)
		}
		for _, aud := range ar.GetRequestedAudience() {
			ar.GrantAudience(aud)
		}
	}
	resp, err := p.oauth2.NewAccessResponse(ctx, ar)
	if err == nil {
		// The tokens are stored and a refresh token rotated by now: a failure here must not lose
		// them (a retry would look like reuse), so the ID token is then returned as fosite made it.
		if ferr := p.fixEdDSAAtHash(ctx, ar, resp); ferr != nil {
			p.log.ErrorContext(ctx, "token: EdDSA at_hash not corrected", "err", ferr)
		}
	}
	if err != nil {
		p.writeTokenError(w, r, ar, err)
		return
	}
	p.oauth2.WriteAccessResponse(ctx, w, ar, resp)
}

// fosite's hints for PKCE failures whose wording misleads (checked by the end-to-end tests).
const (
	fositePKCETooShort = "The PKCE code verifier must be at least 43 characters."
	fositePKCENoData   = "Unable to find initial PKCE data tied to this request"
)

// writeTokenError answers with an RFC 6749 §5.2 error (503 for a storage outage). An invalid_client
// answer carries WWW-Authenticate (RFC 6749 §5.2). Two of fosite's PKCE hints are made precise:
// a missing code_verifier (RFC 7636 §4.5) and a code_verifier for a request that had no
// code_challenge (RFC 9700 §4.8; refused).
func (p *Provider) writeTokenError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	if p.clientGone(w, r, "token", err) {
		return
	}
	if unavailable(err) {
		p.writeUnavailable(w, r, "token", err)
		return
	}
	p.logServerError(r, "token", err)
	if ar == nil {
		ar = fosite.NewAccessRequest(p.newSession(""))
	}
	var rfc *fosite.RFC6749Error
	if errors.As(err, &rfc) {
		switch {
		case rfc.ErrorField == fosite.ErrInvalidGrant.ErrorField && rfc.HintField == fositePKCETooShort && r.PostForm.Get("code_verifier") == "":
			err = rfc.WithHint("The 'code_verifier' parameter is missing, but the authorization request carried a code_challenge (RFC 7636 §4.5).")
		case rfc.ErrorField == fosite.ErrInvalidGrant.ErrorField && rfc.HintField == fositePKCENoData && r.PostForm.Get("code_verifier") != "":
			err = rfc.WithHint("A 'code_verifier' was sent, but the authorization request carried no code_challenge (RFC 9700 §4.8).")
		case rfc.CodeField == http.StatusUnauthorized:
			w.Header().Set("WWW-Authenticate", `Basic realm="actas"`)
		}
	}
	var rc reasonCoder
	if errors.As(err, &rc) && rc.ReasonCode() != "" {
		writeReasonError(w, fosite.ErrorToRFC6749Error(err), rc.ReasonCode())
		return
	}
	p.oauth2.WriteAccessError(r.Context(), w, ar, err)
}

// reasonCoder is an error that carries a stable machine-readable reason (policy denials of the
// token exchange): the token endpoint adds it to the error body as `reason_code`.
type reasonCoder interface{ ReasonCode() string }

// writeReasonError writes the RFC 6749 §5.2 error with one extra member, reason_code.
func writeReasonError(w http.ResponseWriter, e *fosite.RFC6749Error, code string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(e.CodeField)
	_ = json.NewEncoder(w).Encode(map[string]string{
		"error": e.ErrorField, "error_description": e.GetDescription(), "reason_code": code})
}

// newSession is the prototype session for every request: the default audience (RFC 9068 requires
// `aud`) is actas itself, whose userinfo endpoint accepts the token.
func (p *Provider) newSession(subject string) *Session {
	s := NewSession(subject)
	s.DefaultAudience = []string{p.opts.Issuer}
	return s
}

// NewSession returns a prototype session configured for this provider (used by extra grants).
func (p *Provider) NewSession(subject string) *Session { return p.newSession(subject) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s…", strings.ToValidUTF8(s[:n], ""))
}
