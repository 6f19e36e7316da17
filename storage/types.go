package storage

import (
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
)

// Client is a registered OAuth 2.0 client, seeded from configuration. It implements the fosite
// client interfaces so that fosite's handlers can use it directly.
//
// SecretHash is the keyed hash of the client secret (see oauth's hasher); a public client has none.
type Client struct {
	ID                      string   `json:"id"`
	Name                    string   `json:"name,omitempty"`
	SecretHash              []byte   `json:"secret_hash,omitempty"`
	RotatedSecretHashes     [][]byte `json:"rotated_secret_hashes,omitempty"`
	Public                  bool     `json:"public,omitempty"`
	RedirectURIs            []string `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs  []string `json:"post_logout_redirect_uris,omitempty"`
	BackchannelLogoutURI    string   `json:"backchannel_logout_uri,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	Scopes                  []string `json:"scopes,omitempty"`
	Audience                []string `json:"audience,omitempty"`
	FirstParty              bool     `json:"first_party,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	IDTokenSigningAlg       string   `json:"id_token_signing_alg,omitempty"`
	// Lifespans overrides the global token lifetimes, keyed by fosite token type
	// ("access_token", "refresh_token", "id_token", "authorize_code").
	Lifespans map[string]time.Duration `json:"lifespans,omitempty"`
	// ExchangeFor lists the clients whose subject tokens this client may exchange (RFC 8693).
	ExchangeFor []string `json:"exchange_for,omitempty"`
	// HandoffURIs are the registered mobile hand-off targets (deep links / universal links).
	HandoffURIs []string `json:"handoff_uris,omitempty"`
}

var (
	_ fosite.Client                         = (*Client)(nil)
	_ fosite.OpenIDConnectClient            = (*Client)(nil)
	_ fosite.ClientWithSecretRotation       = (*Client)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*Client)(nil)
)

func (c *Client) GetID() string                   { return c.ID }
func (c *Client) GetHashedSecret() []byte         { return c.SecretHash }
func (c *Client) GetRotatedHashes() [][]byte      { return c.RotatedSecretHashes }
func (c *Client) GetRedirectURIs() []string       { return c.RedirectURIs }
func (c *Client) GetGrantTypes() fosite.Arguments { return c.GrantTypes }
func (c *Client) GetResponseTypes() fosite.Arguments {
	if len(c.ResponseTypes) == 0 {
		return fosite.Arguments{"code"}
	}
	return c.ResponseTypes
}
func (c *Client) GetScopes() fosite.Arguments   { return c.Scopes }
func (c *Client) IsPublic() bool                { return c.Public }
func (c *Client) GetAudience() fosite.Arguments { return c.Audience }

func (c *Client) GetRequestURIs() []string                     { return nil }
func (c *Client) GetJSONWebKeys() *jose.JSONWebKeySet          { return nil }
func (c *Client) GetJSONWebKeysURI() string                    { return "" }
func (c *Client) GetRequestObjectSigningAlgorithm() string     { return "" }
func (c *Client) GetTokenEndpointAuthSigningAlgorithm() string { return "" }
func (c *Client) GetTokenEndpointAuthMethod() string {
	switch {
	case c.TokenEndpointAuthMethod != "":
		return c.TokenEndpointAuthMethod
	case c.Public:
		return "none"
	default:
		return "client_secret_basic"
	}
}

// GetEffectiveLifespan implements fosite.ClientWithCustomTokenLifespans: a per-client override
// when configured, else the fallback.
func (c *Client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	if d, ok := c.Lifespans[string(tt)]; ok && d != 0 {
		return d
	}
	return fallback
}

// User is an end user or staff member, seeded from configuration.
type User struct {
	ID            string   `json:"id"`
	Username      string   `json:"username"`
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified,omitempty"`
	Name          string   `json:"name,omitempty"`
	Roles         []string `json:"roles,omitempty"`
	Tenant        string   `json:"tenant,omitempty"`
	// ImpersonationAllowed is the user's own opt-in to being represented (default true in config).
	ImpersonationAllowed bool `json:"impersonation_allowed"`
	// PasswordHash is a PHC-format argon2id hash.
	PasswordHash string `json:"password_hash,omitempty"`
	// TOTPSecret is the base32 RFC 6238 secret; empty when the user has no second factor.
	TOTPSecret string `json:"totp_secret,omitempty"`
	Disabled   bool   `json:"disabled,omitempty"`
}

// HasRole reports whether the user holds role.
func (u *User) HasRole(role string) bool {
	for _, r := range u.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// LoginSession is a browser login at actas. The cookie holds only ID (random, ≥ 128 bits).
type LoginSession struct {
	ID         string    `json:"id"`
	Subject    string    `json:"sub"`
	AuthTime   time.Time `json:"auth_time"`
	AMR        []string  `json:"amr,omitempty"`
	ACR        string    `json:"acr,omitempty"`
	CSRFToken  string    `json:"csrf,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	// ExpiresAt is the absolute timeout; the idle timeout is enforced through the record's TTL.
	ExpiresAt time.Time `json:"expires_at"`
	// SID is the `sid` the session publishes when it inherited one (its user signed in again in
	// the same browser); empty: derived from ID (login.SIDOf).
	SID string `json:"sid,omitempty"`
}
