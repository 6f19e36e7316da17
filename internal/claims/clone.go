// Package claims holds helpers for JWT claim sets as JSON decoding leaves them (maps, slices and
// scalars), shared by the key set's verified-token cache and the session clone.
package claims

import (
	"maps"
	"slices"

	"github.com/ory/fosite/token/jwt"
)

// Clone deep-copies JSON-shaped data so that a copy handed out can never change the original:
// nested maps (also fosite's jwt.MapClaims), []any and []string are copied, scalars shared. nil
// stays nil.
func Clone(m map[string]any) map[string]any {
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = cloneValue(v)
	}
	return out
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return Clone(x)
	case jwt.MapClaims:
		return jwt.MapClaims(Clone(x))
	case []any:
		out := slices.Clone(x)
		for i := range out {
			out[i] = cloneValue(out[i])
		}
		return out
	case []string:
		return slices.Clone(x)
	}
	return v
}
