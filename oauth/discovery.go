package oauth

import (
	"encoding/json"
	"net/http"
	"slices"
)

// discovery is GET /.well-known/openid-configuration (OIDC Discovery 1.0 §3, RFC 8414). Every
// value is true to what is served: a test requests each advertised endpoint.
func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.opts.Issuer
	grants := []string{"authorization_code", "refresh_token", "client_credentials"}
	grants = append(grants, p.opts.ExtraGrantTypes...)
	algs := p.opts.Keys.Load().Algs()
	idAlgs := slices.Clone(algs)
	doc := map[string]any{
		"issuer":                                        iss,
		"authorization_endpoint":                        iss + "/oauth2/auth",
		"token_endpoint":                                iss + "/oauth2/token",
		"userinfo_endpoint":                             iss + "/userinfo",
		"jwks_uri":                                      iss + "/.well-known/jwks.json",
		"introspection_endpoint":                        iss + "/oauth2/introspect",
		"revocation_endpoint":                           iss + "/oauth2/revoke",
		"end_session_endpoint":                          iss + "/oauth2/logout",
		"response_types_supported":                      []string{"code"},
		"response_modes_supported":                      []string{"query"},
		"grant_types_supported":                         grants,
		"subject_types_supported":                       []string{"public"},
		"id_token_signing_alg_values_supported":         idAlgs,
		"userinfo_signing_alg_values_supported":         []string{"none"},
		"token_endpoint_auth_methods_supported":         []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":              []string{"S256"},
		"scopes_supported":                              []string{"openid", "profile", "email", "offline_access"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "azp", "sid",
			"at_hash", "name", "preferred_username", "email", "email_verified", "act"},
		"prompt_values_supported":                        []string{"none", "login", "consent"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"require_request_uri_registration":               false,
		"authorization_response_iss_parameter_supported": true,
		"frontchannel_logout_supported":                  false,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(doc)
}
