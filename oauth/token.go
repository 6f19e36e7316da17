package oauth

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/ory/fosite"
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

// token is POST /oauth2/token (RFC 6749 §3.2).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	session := p.newSession("")
	if err := checkParams(r); err != nil {
		p.oauth2.WriteAccessError(ctx, w, fosite.NewAccessRequest(session), err)
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
	if err != nil {
		p.writeTokenError(w, r, ar, err)
		return
	}
	p.oauth2.WriteAccessResponse(ctx, w, ar, resp)
}

func (p *Provider) writeTokenError(w http.ResponseWriter, r *http.Request, ar fosite.AccessRequester, err error) {
	if unavailable(err) {
		p.writeUnavailable(w, r, "token", err)
		return
	}
	p.logServerError(r, "token", err)
	if ar == nil {
		ar = fosite.NewAccessRequest(p.newSession(""))
	}
	p.oauth2.WriteAccessError(r.Context(), w, ar, err)
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
