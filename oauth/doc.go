// Package oauth is actas's OAuth 2.0 / OpenID Connect provider, composed on fosite v0.49.
//
// It owns: the fosite composition ([New]); the session type with its typed RFC 8693 `act` claim
// ([Session], [Actor]); the token, authorization, userinfo, introspection, revocation, logout and
// discovery endpoints; the keyed client-secret hasher. The key set lives in oauth/keys, the login,
// second-factor and consent pages in oauth/login.
//
// Routes (public listener):
//
//	GET  /.well-known/openid-configuration   discovery (OIDC Discovery 1.0, RFC 8414)
//	GET  /.well-known/jwks.json              public signing keys
//	GET|POST /oauth2/auth                    authorization code flow (+ PKCE S256, RFC 9207 iss)
//	POST /oauth2/token                       authorization_code, refresh_token, client_credentials, and
//	                                         every extra grant handed in (token exchange)
//	GET|POST /userinfo                       OIDC UserInfo
//	POST /oauth2/introspect                  RFC 7662
//	POST /oauth2/revoke                      RFC 7009
//	GET|POST /oauth2/logout                  OIDC RP-Initiated Logout 1.0
//
// oauth never imports exchange: cmd hands the token-exchange grant in as one more
// fosite.TokenEndpointHandler, and subscribes exchange to oauth's hooks (login session ended).
// Storage errors fail closed: no token is issued and the endpoint answers 503
// temporarily_unavailable.
package oauth
