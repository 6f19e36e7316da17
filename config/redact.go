package config

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// RedactedValue replaces every secret in [Config.Redacted] and [Config.Print].
const RedactedValue = "[redacted]"

// Redacted returns a deep copy of c with every secret that is set replaced by [RedactedValue]:
// secrets.global and secrets.previous, storage.redis.password and the password inside
// storage.redis.url, clients[].secret, users[].password_hash and users[].totp_secret. Paths of
// *_file secrets are kept. Use it for anything that is shown or logged.
func (c *Config) Redacted() *Config {
	r := c.clone()
	hide := func(s *string) {
		if *s != "" {
			*s = RedactedValue
		}
	}
	hide(&r.Secrets.Global)
	for i := range r.Secrets.Previous {
		hide(&r.Secrets.Previous[i])
	}
	hide(&r.Storage.Redis.Password)
	r.Storage.Redis.URL = redactURL(r.Storage.Redis.URL)
	for i := range r.Clients {
		hide(&r.Clients[i].Secret)
	}
	for i := range r.Users {
		hide(&r.Users[i].PasswordHash)
		hide(&r.Users[i].TOTPSecret)
	}
	return r
}

// Print writes the redacted effective configuration as YAML (the output of
// `actas config validate`). Durations are written as Go durations ("10m0s").
func (c *Config) Print(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(c.Redacted()); err != nil {
		return fmt.Errorf("config: print: %w", err)
	}
	return enc.Close()
}

// redactURL hides the password of a redis:// URL. A URL that does not parse is hidden whole,
// because it might carry a password in a form url.Parse does not understand.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return RedactedValue
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	user := u.User.Username()
	u.User = nil
	s := u.String() // scheme://host/…
	scheme, rest, _ := strings.Cut(s, "://")
	return scheme + "://" + url.PathEscape(user) + ":" + RedactedValue + "@" + rest
}

// clone returns a deep copy of c: no slice of the copy shares memory with c.
func (c *Config) clone() *Config {
	r := *c
	r.Server.TrustedProxies = slices.Clone(c.Server.TrustedProxies)
	r.Storage.Redis.Addrs = slices.Clone(c.Storage.Redis.Addrs)
	r.Secrets.Previous = slices.Clone(c.Secrets.Previous)
	r.Secrets.PreviousFiles = slices.Clone(c.Secrets.PreviousFiles)
	r.Consent.MeScopes = slices.Clone(c.Consent.MeScopes)
	r.Keys = slices.Clone(c.Keys)
	r.Clients = slices.Clone(c.Clients)
	for i, cl := range c.Clients {
		r.Clients[i].RedirectURIs = slices.Clone(cl.RedirectURIs)
		r.Clients[i].PostLogoutRedirectURIs = slices.Clone(cl.PostLogoutRedirectURIs)
		r.Clients[i].GrantTypes = slices.Clone(cl.GrantTypes)
		r.Clients[i].Scopes = slices.Clone(cl.Scopes)
		r.Clients[i].Audience = slices.Clone(cl.Audience)
		r.Clients[i].ExchangeFor = slices.Clone(cl.ExchangeFor)
		r.Clients[i].HandoffURIs = slices.Clone(cl.HandoffURIs)
	}
	r.Policy = c.Policy.clone()
	r.Exchange.TrustedIssuers = slices.Clone(c.Exchange.TrustedIssuers)
	for i, t := range c.Exchange.TrustedIssuers {
		r.Exchange.TrustedIssuers[i].Algorithms = slices.Clone(t.Algorithms)
		r.Exchange.TrustedIssuers[i].AccessTokenTypes = slices.Clone(t.AccessTokenTypes)
		r.Exchange.TrustedIssuers[i].Clients = slices.Clone(t.Clients)
	}
	r.Users = slices.Clone(c.Users)
	for i, u := range c.Users {
		r.Users[i].Roles = slices.Clone(u.Roles)
	}
	return &r
}
