package config

import "time"

// Default returns the built-in defaults: what a file that sets nothing gets, before the issuer is
// derived from server.public.addr. It has no keys, no secrets, no clients and no users, so it does
// not validate on its own outside dev mode.
func Default() *Config {
	return &Config{
		Server: Server{
			Public: Public{
				Addr:              "127.0.0.1:8080",
				ReadHeaderTimeout: 5 * time.Second,
				ReadTimeout:       15 * time.Second,
				WriteTimeout:      30 * time.Second,
				IdleTimeout:       120 * time.Second,
				MaxBodyBytes:      64 << 10,
			},
			Ops:             Ops{Addr: "127.0.0.1:9090"},
			ShutdownTimeout: 20 * time.Second,
		},
		Log: Log{Format: LogFormatJSON, Level: "info"},
		Storage: Storage{
			Backend: BackendMemory,
			Timeout: 500 * time.Millisecond,
			Redis:   Redis{KeyPrefix: "actas:", AutoPipeline: true},
		},
		Tokens: Tokens{
			AccessTokenLifespan:   10 * time.Minute,
			RefreshTokenLifespan:  720 * time.Hour,
			IDTokenLifespan:       time.Hour,
			AuthorizeCodeLifespan: 5 * time.Minute,
			AccessTokenAlg:        AlgES256,
			IDTokenAlg:            AlgRS256,
		},
		Login: Login{
			SessionIdleTimeout:     30 * time.Minute,
			SessionAbsoluteTimeout: 12 * time.Hour,
			MaxAttemptsPerUser:     5,
			MaxAttemptsPerIP:       20,
			AttemptWindow:          15 * time.Minute,
			CookieSecure:           true,
		},
		Policy:          defaultPolicy(),
		Audit:           Audit{Stream: "audit", MaxLen: 1_000_000, MaxAge: 2160 * time.Hour},
		Exchange:        Exchange{MaxActDepth: 4},
		Representations: Representations{Retention: 30 * 24 * time.Hour},
		Consent:         Consent{RequestTTL: 24 * time.Hour, Retention: 30 * 24 * time.Hour, MeScopes: []string{DefaultConsentScope}},
		Handoff:         Handoff{TTL: 2 * time.Minute},
	}
}

// elementDefaults are the defaults of keys inside list elements, applied by [Load] to every element
// of the list that omits the key (an explicit empty value is kept). Keyed by list, then element key.
var elementDefaults = map[string]map[string]func() any{
	"clients": {
		"grant_types": func() any { return []any{GrantTypeAuthorizationCode, GrantTypeRefreshToken} },
		"scopes":      func() any { return []any{"openid", "profile", "email", "offline_access"} },
	},
	"users": {
		"impersonation_allowed": func() any { return true },
	},
}

// withElementDefaults returns a copy of list (a list decoded from YAML, or built from defaults)
// where each map element has the element defaults of section for the keys it omits. Elements that
// are not maps are left for the decoder to reject.
func withElementDefaults(section string, list any) any {
	defs, ok := elementDefaults[section]
	items, isList := list.([]any)
	if !ok || !isList {
		return list
	}
	out := make([]any, len(items))
	for i, item := range items {
		m, isMap := item.(map[string]any)
		if !isMap {
			out[i] = item
			continue
		}
		cp := make(map[string]any, len(m)+len(defs))
		for k, v := range m {
			cp[k] = v
		}
		for k, def := range defs {
			if _, set := cp[k]; !set {
				cp[k] = def()
			}
		}
		out[i] = cp
	}
	return out
}
