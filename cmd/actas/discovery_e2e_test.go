package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/actas-dev/actas/config"
)

// TestDiscoveryIsTrue checks that the discovery document (OIDC Discovery 1.0 §3, RFC 8414) says
// what the server does: every advertised endpoint answers, the keys match the advertised
// algorithms, and each advertised grant type is accepted by the token endpoint.
func TestDiscoveryIsTrue(t *testing.T) {
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			srv := startServer(t, backend, nil)
			r := httpCall{method: http.MethodGet, path: "/.well-known/openid-configuration"}.do(t, srv)
			if r.resp.StatusCode != http.StatusOK || !strings.HasPrefix(r.resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("discovery: status %d, Content-Type %q", r.resp.StatusCode, r.resp.Header.Get("Content-Type"))
			}
			var doc map[string]any
			if err := json.Unmarshal(r.body, &doc); err != nil {
				t.Fatal(err)
			}
			strs := func(key string) []string {
				var out []string
				list, ok := doc[key].([]any)
				if !ok {
					t.Fatalf("%s is not a list: %v", key, doc[key])
				}
				for _, v := range list {
					out = append(out, v.(string))
				}
				return out
			}

			t.Run("ok/issuer-is-server-url", func(t *testing.T) {
				if doc["issuer"] != srv.URL {
					t.Fatalf("issuer = %v, want %s", doc["issuer"], srv.URL)
				}
			})

			endpoints := []struct {
				key    string
				method string
				want   func(status int) bool
			}{
				{"authorization_endpoint", http.MethodGet, func(s int) bool { return s == http.StatusBadRequest }},
				{"token_endpoint", http.MethodPost, func(s int) bool { return s == http.StatusUnauthorized || s == http.StatusBadRequest }},
				{"userinfo_endpoint", http.MethodGet, func(s int) bool { return s == http.StatusUnauthorized }},
				{"userinfo_endpoint", http.MethodPost, func(s int) bool { return s == http.StatusUnauthorized }},
				{"jwks_uri", http.MethodGet, func(s int) bool { return s == http.StatusOK }},
				{"introspection_endpoint", http.MethodPost, func(s int) bool { return s == http.StatusUnauthorized }},
				{"revocation_endpoint", http.MethodPost, func(s int) bool { return s == http.StatusUnauthorized }},
				{"end_session_endpoint", http.MethodGet, func(s int) bool { return s == http.StatusOK }},
			}
			for _, ep := range endpoints {
				t.Run("ok/"+ep.key+"-"+strings.ToLower(ep.method)+"-answers", func(t *testing.T) {
					u, _ := doc[ep.key].(string)
					if !strings.HasPrefix(u, srv.URL+"/") {
						t.Fatalf("%s = %q, not below the issuer", ep.key, u)
					}
					c := httpCall{method: ep.method, path: strings.TrimPrefix(u, srv.URL)}
					if ep.method == http.MethodPost {
						c.form = url.Values{"x": {"y"}}
					}
					res := c.do(t, srv)
					if !ep.want(res.resp.StatusCode) {
						t.Fatalf("%s %s: status %d: %s", ep.method, u, res.resp.StatusCode, truncateForLog(string(res.body)))
					}
				})
			}

			t.Run("ok/jwks-serve-the-advertised-algorithms", func(t *testing.T) {
				u, _ := doc["jwks_uri"].(string)
				res := httpCall{method: http.MethodGet, path: strings.TrimPrefix(u, srv.URL)}.do(t, srv)
				var set struct {
					Keys []map[string]any `json:"keys"`
				}
				if err := json.Unmarshal(res.body, &set); err != nil || len(set.Keys) == 0 {
					t.Fatalf("jwks: %v: %s", err, res.body)
				}
				var algs []string
				for _, k := range set.Keys {
					if _, private := k["d"]; private {
						t.Fatalf("the JWKS publishes a private key: kid %v", k["kid"])
					}
					if k["kid"] == nil || k["alg"] == nil || (k["use"] != nil && k["use"] != "sig") {
						t.Fatalf("key without kid or alg, or not for signing: %v", k)
					}
					algs = append(algs, k["alg"].(string))
				}
				advertised := strs("id_token_signing_alg_values_supported")
				if !slices.Contains(advertised, "RS256") {
					t.Errorf("RS256 (OIDC Core §3.1.3.7) not advertised: %v", advertised)
				}
				for _, alg := range advertised {
					if !slices.Contains(algs, alg) {
						t.Errorf("advertised ID token alg %s has no key in the JWKS (%v)", alg, algs)
					}
				}
			})

			t.Run("ok/advertised-values", func(t *testing.T) {
				want := map[string]any{
					"request_parameter_supported":                    false,
					"request_uri_parameter_supported":                false,
					"authorization_response_iss_parameter_supported": true,
					"claims_parameter_supported":                     false,
				}
				for k, v := range want {
					if doc[k] != v {
						t.Errorf("%s = %v, want %v", k, doc[k], v)
					}
				}
				lists := map[string][]string{
					"code_challenge_methods_supported": {"S256"},
					"response_types_supported":         {"code"},
					"response_modes_supported":         {"query"},
					"subject_types_supported":          {"public"},
				}
				for k, v := range lists {
					if got := strs(k); !slices.Equal(got, v) {
						t.Errorf("%s = %v, want %v", k, got, v)
					}
				}
				for k, must := range map[string][]string{
					"scopes_supported":                      {"openid", "profile", "email", "offline_access"},
					"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
					"claims_supported":                      {"sub", "iss", "auth_time", "acr", "amr", "sid"},
					"prompt_values_supported":               {"none", "login", "consent"},
				} {
					got := strs(k)
					for _, v := range must {
						if !slices.Contains(got, v) {
							t.Errorf("%s = %v lacks %s", k, got, v)
						}
					}
				}
			})

			t.Run("ok/advertised-grant-types-are-accepted", func(t *testing.T) {
				grants := strs("grant_types_supported")
				for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
					if !slices.Contains(grants, g) {
						t.Errorf("grant_types_supported = %v lacks %s", grants, g)
					}
				}
				for _, g := range []string{"implicit", "password"} {
					if slices.Contains(grants, g) {
						t.Errorf("grant_types_supported advertises %s, which actas does not offer", g)
					}
				}
				for _, g := range grants {
					res := httpCall{method: http.MethodPost, path: "/oauth2/token", basic: consoleAuth,
						form: url.Values{"grant_type": {g}}}.do(t, srv)
					var e oauthError
					_ = json.Unmarshal(res.body, &e)
					if e.Error == "unsupported_grant_type" || res.resp.StatusCode == http.StatusNotFound {
						t.Errorf("advertised grant %s: %d %s", g, res.resp.StatusCode, res.body)
					}
				}
				res := httpCall{method: http.MethodPost, path: "/oauth2/token", basic: basicAuth(config.DemoConsoleClientID, config.DemoConsoleClientSecret),
					form: url.Values{"grant_type": {"implicit"}}}.do(t, srv)
				wantError(t, res, http.StatusBadRequest, "unsupported_grant_type", "'implicit' is not supported")
			})
		})
	}
}
