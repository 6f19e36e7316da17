package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

var grantTypes = []string{
	GrantTypeAuthorizationCode, GrantTypeRefreshToken, GrantTypeClientCredentials, GrantTypeTokenExchange,
}

func (c *Config) validateClients(p *problems, failed map[string]bool) {
	ids := map[string]int{}
	for i, cl := range c.Clients {
		if prev, dup := ids[cl.ID]; dup && cl.ID != "" {
			p.add(fmt.Sprintf("clients[%d].id", i), "%q used twice (also clients[%d])", cl.ID, prev)
		} else if cl.ID != "" {
			ids[cl.ID] = i
		}
	}
	for i := range c.Clients {
		c.validateClient(p, failed, i, ids)
	}
}

func (c *Config) validateClient(p *problems, failed map[string]bool, i int, ids map[string]int) {
	cl := c.Clients[i]
	at := func(field string) string { return fmt.Sprintf("clients[%d].%s", i, field) }

	switch {
	case cl.ID == "":
		p.add(at("id"), "required")
	case !isToken(cl.ID):
		p.add(at("id"), "must not contain spaces or control characters")
	}

	// RFC 6749 §2.1: a client is confidential (authenticates with a secret) or public (cannot).
	switch {
	case failed[at("secret")]:
	case cl.Public && cl.Secret != "":
		p.add(at("secret"), "a public client has no secret (remove it, or set public: false)")
	case !cl.Public && cl.Secret == "" && cl.SecretFile != "":
		p.add(at("secret_file"), "was not read (config.Load reads *_file secrets)")
	case !cl.Public && cl.Secret == "":
		p.add(at("secret"), "a confidential client needs a secret or secret_file (or set public: true)")
	case !cl.Public && len(cl.Secret) < minSecretBytes:
		p.add(at("secret"), "must be at least %d bytes (generate 256 random bits), is %d", minSecretBytes, len(cl.Secret))
	}

	if len(cl.GrantTypes) == 0 {
		p.add(at("grant_types"), "at least one grant type is required")
	}
	for j, g := range cl.GrantTypes {
		key := fmt.Sprintf("%s[%d]", at("grant_types"), j)
		switch {
		case !slices.Contains(grantTypes, g):
			p.add(key, "must be one of %s", strings.Join(grantTypes, ", "))
		case g == GrantTypeClientCredentials && cl.Public:
			p.add(key, "a public client cannot use client_credentials (it has no credentials; RFC 6749 §4.4)")
		}
	}
	if slices.Contains(cl.GrantTypes, GrantTypeAuthorizationCode) && len(cl.RedirectURIs) == 0 {
		p.add(at("redirect_uris"), "required for the authorization_code grant")
	}
	for j, u := range cl.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			p.add(fmt.Sprintf("%s[%d]", at("redirect_uris"), j), "%s", msg)
		}
	}
	for j, u := range cl.PostLogoutRedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			p.add(fmt.Sprintf("%s[%d]", at("post_logout_redirect_uris"), j), "%s", msg)
		}
	}
	for j, u := range cl.HandoffURIs {
		if msg := checkRedirectURI(u); msg != "" {
			p.add(fmt.Sprintf("%s[%d]", at("handoff_uris"), j), "%s", msg)
		}
	}
	if cl.BackchannelLogoutURI != "" {
		u, err := url.Parse(cl.BackchannelLogoutURI)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			p.add(at("backchannel_logout_uri"), "must be an absolute http(s) URL")
		case u.Fragment != "" || strings.Contains(cl.BackchannelLogoutURI, "#"):
			p.add(at("backchannel_logout_uri"), "must not contain a fragment")
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			p.add(at("backchannel_logout_uri"), "must be https (plain http only for a loopback host)")
		}
	}
	for j, s := range cl.Scopes {
		if !isScopeToken(s) {
			p.add(fmt.Sprintf("%s[%d]", at("scopes"), j), "must be a non-empty scope token without spaces or quotes (RFC 6749 §3.3)")
		}
	}
	for j, a := range cl.Audience {
		if !isToken(a) {
			p.add(fmt.Sprintf("%s[%d]", at("audience"), j), "must be non-empty, without spaces or control characters")
		}
	}
	if cl.IDTokenSigningAlg != "" && !slices.Contains(signingAlgs, cl.IDTokenSigningAlg) {
		p.add(at("id_token_signing_alg"), "must be empty (tokens.id_token_alg) or RS256, ES256 or EdDSA")
	}
	for _, l := range []struct {
		field string
		d     time.Duration
	}{
		{"lifespans.access_token", cl.Lifespans.AccessToken},
		{"lifespans.refresh_token", cl.Lifespans.RefreshToken},
		{"lifespans.id_token", cl.Lifespans.IDToken},
	} {
		if l.d < 0 {
			p.add(at(l.field), "must not be negative (0 means the tokens.* default)")
		}
	}
	for j, id := range cl.ExchangeFor {
		if _, ok := ids[id]; !ok {
			p.add(fmt.Sprintf("%s[%d]", at("exchange_for"), j), "unknown client %q", id)
		}
	}
	if len(cl.ExchangeFor) > 0 && !slices.Contains(cl.GrantTypes, GrantTypeTokenExchange) {
		p.add(at("exchange_for"), "needs the grant type %s", GrantTypeTokenExchange)
	}
}

// checkRedirectURI applies RFC 6749 §3.1.2 and RFC 8252 §7 to a redirect URI and returns what is
// wrong with it, or "". Accepted: https URLs; http URLs on a loopback host (127.0.0.1, [::1],
// localhost); private-use schemes that are reverse domain names (com.example.app:/callback).
// Never a fragment, a wildcard or a relative URI.
func checkRedirectURI(raw string) string {
	if raw == "" || strings.ContainsFunc(raw, isSpaceOrControl) {
		return "must be a non-empty URI without spaces"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a valid URI"
	case u.Scheme == "":
		return "must be an absolute URI"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not contain a fragment (RFC 6749 §3.1.2)"
	case strings.Contains(u.Host, "*"):
		return "must not contain a wildcard (redirect URIs are matched exactly)"
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" {
			return "must have a host"
		}
	case "http":
		if u.Host == "" || !isLoopback(u.Hostname()) {
			return "plain http only for a loopback host (RFC 8252 §7.3); use https"
		}
	case "javascript", "data", "file", "vbscript", "blob":
		return "scheme " + u.Scheme + " is not allowed"
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "a private-use scheme must be a reverse domain name such as com.example.app (RFC 8252 §7.1)"
		}
	}
	return ""
}

// isScopeToken reports whether s is a scope-token of RFC 6749 §3.3: one or more of %x21 / %x23-5B /
// %x5D-7E.
func isScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		b := s[i]
		if b < 0x21 || b == 0x22 || b == 0x5C || b > 0x7E {
			return false
		}
	}
	return true
}

// isToken reports whether s is non-empty and free of spaces and control characters.
func isToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, isSpaceOrControl)
}

func isSpaceOrControl(r rune) bool {
	return r <= ' ' || r == 0x7F || r == '\u00a0' || r == '\u2028' || r == '\u2029'
}
