package config

// Dev returns the configuration of `actas serve --dev`: the defaults with the in-memory store,
// text logs, a non-Secure login cookie, the issuer http://127.0.0.1:8080, and the fixed demo data
// set ([DemoUsers], [DemoClients]). It has no signing keys and no global secret: the server
// generates fresh ones at start. The same data ships as deploy/dev/actas.yaml.
//
// Every credential here is public (documented in docs/configuration.md and docs/dev.md); never
// use them outside a development machine.
func Dev() *Config {
	c := Default()
	c.Dev = true
	c.Issuer = "http://127.0.0.1:8080"
	c.Log.Format = LogFormatText
	c.Storage.Backend = BackendMemory
	c.Login.CookieSecure = false
	c.Clients = DemoClients()
	c.Users = DemoUsers()
	c.Policy = devPolicy()
	c.Audit = Audit{Stream: "audit", MaxLen: 100_000}
	return c
}

// Demo client ids and secrets (public, for development only).
const (
	DemoSPAClientID         = "demo-spa"
	DemoMobileClientID      = "demo-mobile"
	DemoConsoleClientID     = "demo-console"
	DemoConsoleClientSecret = "demo-console-secret-7Qm2v9XrL4tB8nKcW1zY5pHd3sJf6gAe"
	DemoAPIClientID         = "demo-api"
	DemoAPIClientSecret     = "demo-api-secret-Vb8Tq3Lm9Xw2Rk5Nz7Hc4Jp6Ds1Fg0Ya"
)

// DemoClients returns the demo clients: a public web app, a public first-party mobile app that may
// use token exchange, the confidential support console and a confidential resource server.
func DemoClients() []Client {
	oidcScopes := func() []string { return []string{"openid", "profile", "email", "offline_access"} }
	return []Client{
		{
			ID:                     DemoSPAClientID,
			Name:                   "Demo web app",
			Public:                 true,
			RedirectURIs:           []string{"http://127.0.0.1:5555/callback", "http://localhost:5555/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:5555/"},
			GrantTypes:             []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken},
			// actas:consent lets a customer answer access requests from the app, once they
			// approved that scope for it on the consent page (consent.me_scopes).
			Scopes: append(oidcScopes(), DefaultConsentScope),
		},
		{
			ID:           DemoMobileClientID,
			Name:         "Demo mobile app",
			Public:       true,
			RedirectURIs: []string{"com.example.actasdemo:/callback", "http://127.0.0.1/callback"},
			GrantTypes:   []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken, GrantTypeTokenExchange},
			Scopes:       append(oidcScopes(), DefaultConsentScope),
			FirstParty:   true,
			HandoffURIs:  []string{"com.example.actasdemo:/handoff"},
		},
		{
			ID:                     DemoConsoleClientID,
			Name:                   "Support console",
			Secret:                 DemoConsoleClientSecret,
			RedirectURIs:           []string{"http://127.0.0.1:5556/callback"},
			PostLogoutRedirectURIs: []string{"http://127.0.0.1:5556/"},
			BackchannelLogoutURI:   "http://127.0.0.1:5557/backchannel-logout",
			GrantTypes: []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken,
				GrantTypeClientCredentials, GrantTypeTokenExchange},
			Scopes: []string{"openid", "profile", "email", "offline_access",
				"impersonation", "actas:impersonate", "actas:audit"},
			Audience:    []string{"http://127.0.0.1:8080", "https://api.example.com"},
			FirstParty:  true,
			ExchangeFor: []string{DemoSPAClientID},
		},
		{
			ID:         DemoAPIClientID,
			Name:       "Demo resource server",
			Secret:     DemoAPIClientSecret,
			GrantTypes: []string{GrantTypeClientCredentials},
			Scopes:     []string{"actas:introspect", "actas:activity"},
			FirstParty: true,
		},
	}
}

// DemoUsers returns the demo users. The password of each is "<username>-demo-pass"; the hashes are
// argon2id with m=19456 KiB, t=2, p=1 (a test checks each against its password).
func DemoUsers() []User {
	return []User{
		demoUser("u-alice", "alice", "Alice Example", "customer", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$1GruAfojx6UsALUTaNJZOA$ranFqc14K/tLYtaR46Mt0oVmvODvxDHiCKdb2qM5t7k", ""),
		demoUser("u-bob", "bob", "Bob Example", "customer", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$XkJiGS1tlXhXZQeIYLMVXQ$96pIdRMFiWPVgzFOvE9SvMh/Cv0ccXSSJqhL0JXrf+o", ""),
		demoUser("u-carol", "carol", "Carol Example", "customer", "globex", true,
			"$argon2id$v=19$m=19456,t=2,p=1$KN76odkSkYfW44/79RN6PA$UhhALkV7Qs3uCxLc0GtIKtA+G+74Cf9n5iEySh3RakE", ""),
		demoUser("u-dave", "dave", "Dave Example", "customer", "acme", false,
			"$argon2id$v=19$m=19456,t=2,p=1$rthP5n0EL/zp6yP6tbLttA$bqmeSibWBfm+tx1ioiklj9pVHnp0YcPTftdSqgNgrM8", ""),
		demoUser("u-sam", "sam", "Sam Support", "support", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$sNOP3kwhctikmp6FiYQPMg$0YM2N8vx8hH4T8o8UtLy92vF9SXN5Xx+DhnbGk9yKJ4",
			"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
		demoUser("u-ada", "ada", "Ada Admin", "admin", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$6CVrFk9huuXncIxllWTP/w$X87/y9YRLTQ2Rcp1DEeyXgsQ4GaO10/c5KP2+RRHNGg",
			"KRUGKIDROVUWG2ZAMJZG653OEBTG66BA"),
		demoUser("u-sue", "sue", "Sue Superadmin", "super_admin", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$N8RitYN2AbL0saGW+ugiEg$Hr+4hTGNVN9zlgcCOSZx+uMDCXwJVKydqvIF1CsoFmI",
			"MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
		demoUser("u-otto", "otto", "Otto Auditor", "auditor", "acme", true,
			"$argon2id$v=19$m=19456,t=2,p=1$gs1zBIq29rkyiDOad9y74g$ZtdER3EpMaGhKIjGxdU4G2f9WjKspOx8ZP253hjofAo",
			"ONSWG4TFOQQGC3TEEBZWK3DSMV2A2222"),
	}
}

func demoUser(id, username, name, role, tenant string, impersonationAllowed bool, hash, totp string) User {
	return User{
		ID:                   id,
		Username:             username,
		Email:                username + "@example.com",
		EmailVerified:        true,
		Name:                 name,
		Roles:                []string{role},
		Tenant:               tenant,
		ImpersonationAllowed: impersonationAllowed,
		PasswordHash:         hash,
		TOTPSecret:           totp,
	}
}
