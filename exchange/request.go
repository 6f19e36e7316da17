package exchange

import (
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ory/fosite"
)

// Size bounds, checked before any parsing.
const (
	// MaxTokenSize bounds subject_token and actor_token (bytes).
	MaxTokenSize = 16 << 10
	// MaxParamSize bounds every other parameter value (bytes).
	MaxParamSize = 2048
	// MaxTargets bounds the number of audience plus resource values.
	MaxTargets = 16
	// MaxScopes bounds the number of scope values.
	MaxScopes = 64
	// MaxReasonSize and MaxTicketSize bound the impersonation purpose (bytes); the policy applies
	// its own, usually tighter, limits.
	MaxReasonSize = 1024
	MaxTicketSize = 128
)

// Request is an RFC 8693 §2.1 token-exchange request, parsed once from the form. The field names
// follow the RFC's parameters.
type Request struct {
	SubjectToken     string
	SubjectTokenType string
	ActorToken       string // empty when absent
	ActorTokenType   string // set iff ActorToken is
	// RequestedTokenType defaults to [TokenTypeAccessToken].
	RequestedTokenType string
	// Audience are the logical names of the target services, in request order, deduplicated.
	Audience []string
	// Resource are absolute URIs without fragment (RFC 8707), in request order, deduplicated.
	Resource []string
	// Scope are the requested scopes (RFC 6749 §3.3), in request order, deduplicated.
	Scope []string
	// Reason and Ticket are actas's impersonation extension parameters.
	Reason string
	Ticket string
}

// Targets returns the audiences followed by the resources: everything the issued token would be
// meant for.
func (r *Request) Targets() []string {
	out := make([]string, 0, len(r.Audience)+len(r.Resource))
	out = append(out, r.Audience...)
	for _, res := range r.Resource {
		if !slices.Contains(out, res) {
			out = append(out, res)
		}
	}
	return out
}

// HasScope reports whether s was requested.
func (r *Request) HasScope(s string) bool { return slices.Contains(r.Scope, s) }

// singleParams may appear at most once (RFC 6749 §3.2; RFC 8693 §2.1 makes only audience and
// resource repeatable). The provider refuses duplicates already; the exchange re-checks what it
// relies on.
var singleParams = []string{"grant_type", "subject_token", "subject_token_type", "actor_token",
	"actor_token_type", "requested_token_type", "scope", "reason", "ticket"}

// ParseRequest validates form and returns the typed request. Every failure is a *fosite.RFC6749Error
// with a precise hint: invalid_request for a missing, repeated, oversized or unsupported
// parameter, invalid_target for a malformed resource (RFC 8707 §2), invalid_scope for a malformed
// scope. It does not look at the tokens' contents.
func ParseRequest(form url.Values) (*Request, error) {
	for _, name := range singleParams {
		if len(form[name]) > 1 {
			return nil, fosite.ErrInvalidRequest.WithHintf("The parameter '%s' must not be included more than once.", name)
		}
	}
	r := &Request{
		SubjectToken:       form.Get("subject_token"),
		SubjectTokenType:   form.Get("subject_token_type"),
		ActorToken:         form.Get("actor_token"),
		ActorTokenType:     form.Get("actor_token_type"),
		RequestedTokenType: form.Get("requested_token_type"),
		Reason:             form.Get("reason"),
		Ticket:             form.Get("ticket"),
	}
	if err := r.checkTokens(); err != nil {
		return nil, err
	}
	for _, p := range []struct{ name, v string }{
		{"subject_token_type", r.SubjectTokenType}, {"actor_token_type", r.ActorTokenType},
		{"requested_token_type", r.RequestedTokenType}, {"scope", form.Get("scope")},
	} {
		if len(p.v) > MaxParamSize {
			return nil, fosite.ErrInvalidRequest.WithHintf("The parameter '%s' exceeds %d bytes.", p.name, MaxParamSize)
		}
	}
	if err := r.checkTypes(); err != nil {
		return nil, err
	}
	if err := r.checkPurpose(); err != nil {
		return nil, err
	}
	// Counted before anything is parsed or de-duplicated (quadratic in the count), on the raw
	// values: duplicates count too.
	if len(form["audience"])+len(form["resource"]) > MaxTargets {
		return nil, fosite.ErrInvalidRequest.WithHintf("At most %d audience and resource values may be requested.", MaxTargets)
	}
	var err error
	if r.Audience, err = parseAudience(form["audience"]); err != nil {
		return nil, err
	}
	if r.Resource, err = parseResource(form["resource"]); err != nil {
		return nil, err
	}
	if r.Scope, err = parseScope(form.Get("scope")); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *Request) checkTokens() error {
	switch {
	case r.SubjectToken == "":
		return fosite.ErrInvalidRequest.WithHint("The parameter 'subject_token' is missing.")
	case len(r.SubjectToken) > MaxTokenSize:
		return fosite.ErrInvalidRequest.WithHintf("The subject token exceeds %d bytes.", MaxTokenSize)
	case len(r.ActorToken) > MaxTokenSize:
		return fosite.ErrInvalidRequest.WithHintf("The actor token exceeds %d bytes.", MaxTokenSize)
	}
	return nil
}

// checkTypes applies RFC 8693 §2.1: subject_token_type is required; actor_token_type is required
// when actor_token is present and must not be sent otherwise; requested_token_type is optional.
func (r *Request) checkTypes() error {
	switch {
	case r.SubjectTokenType == "":
		return fosite.ErrInvalidRequest.WithHint("The parameter 'subject_token_type' is missing.")
	case !typeAllows(r.SubjectTokenType, useSubject|useImpersonationSubject|useHandoffSubject):
		return fosite.ErrInvalidRequest.WithHintf("The subject_token_type '%s' is not supported as a subject token.", clip(r.SubjectTokenType))
	case r.ActorToken != "" && r.ActorTokenType == "":
		return fosite.ErrInvalidRequest.WithHint("The parameter 'actor_token_type' is required when 'actor_token' is present.")
	case r.ActorToken == "" && r.ActorTokenType != "":
		return fosite.ErrInvalidRequest.WithHint("The parameter 'actor_token_type' must not be sent without 'actor_token'.")
	case r.ActorToken != "" && !typeAllows(r.ActorTokenType, useActor):
		return fosite.ErrInvalidRequest.WithHintf("The actor_token_type '%s' is not supported as an actor token.", clip(r.ActorTokenType))
	}
	if r.RequestedTokenType == "" {
		r.RequestedTokenType = TokenTypeAccessToken
	} else if !typeAllows(r.RequestedTokenType, useIssue) {
		return fosite.ErrInvalidRequest.WithHintf("The requested_token_type '%s' cannot be issued; use the access_token, jwt or id_token type.", clip(r.RequestedTokenType))
	}
	return nil
}

func (r *Request) checkPurpose() error {
	switch {
	case len(r.Reason) > MaxReasonSize:
		return fosite.ErrInvalidRequest.WithHintf("The parameter 'reason' exceeds %d bytes.", MaxReasonSize)
	case len(r.Ticket) > MaxTicketSize:
		return fosite.ErrInvalidRequest.WithHintf("The parameter 'ticket' exceeds %d bytes.", MaxTicketSize)
	case !utf8.ValidString(r.Reason) || !utf8.ValidString(r.Ticket):
		return fosite.ErrInvalidRequest.WithHint("The parameters 'reason' and 'ticket' must be valid UTF-8.")
	}
	return nil
}

// parseAudience accepts each audience parameter as one logical name (RFC 8693 §2.1): printable,
// without spaces (repeat the parameter for several).
func parseAudience(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		if v == "" || len(v) > MaxParamSize || strings.IndexFunc(v, notVisible) >= 0 {
			return nil, fosite.ErrInvalidRequest.WithHint("Each 'audience' value must be a non-empty name of at most 2048 printable characters without spaces; repeat the parameter for several audiences.")
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// parseResource accepts absolute URIs without a fragment (RFC 8693 §2.1, RFC 8707 §2); anything
// else is invalid_target, as RFC 8707 requires.
func parseResource(vals []string) ([]string, error) {
	var out []string
	for _, v := range vals {
		if len(v) > MaxParamSize || strings.IndexFunc(v, notVisible) >= 0 {
			return nil, ErrInvalidTarget.WithHint("A 'resource' value is too long or contains spaces or control characters.")
		}
		u, err := url.Parse(v)
		if err != nil || !u.IsAbs() || (u.Host == "" && u.Opaque == "") {
			return nil, ErrInvalidTarget.WithHintf("The resource '%s' is not an absolute URI.", clip(v))
		}
		if u.Fragment != "" || strings.Contains(v, "#") {
			return nil, ErrInvalidTarget.WithHintf("The resource '%s' must not contain a fragment.", clip(v))
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, nil
}

// parseScope splits scope on spaces (RFC 6749 §3.3) and checks each scope-token's characters.
func parseScope(s string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5c || c > 0x7e {
				return nil, fosite.ErrInvalidScope.WithHint("A requested scope contains a character that RFC 6749 §3.3 does not allow.")
			}
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	if len(out) > MaxScopes {
		return nil, fosite.ErrInvalidScope.WithHintf("At most %d scopes may be requested.", MaxScopes)
	}
	return out, nil
}

func notVisible(r rune) bool {
	return r <= ' ' || r == 0x7f || r == utf8.RuneError || !unicode.IsPrint(r)
}

// clip shortens a client-supplied value for an error description.
func clip(s string) string {
	const n = 80
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
