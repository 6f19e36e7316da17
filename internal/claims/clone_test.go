package claims

import (
	"testing"

	"github.com/ory/fosite/token/jwt"
)

func TestCloneSharesNothingMutable(t *testing.T) {
	orig := map[string]any{
		"act":  map[string]any{"sub": "u-sam", "act": map[string]any{"sub": "u-ada"}},
		"amr":  []string{"pwd"},
		"aud":  []any{"a", map[string]any{"x": "y"}},
		"mc":   jwt.MapClaims{"sub": "u-bob"},
		"n":    1.0,
		"none": nil,
	}
	c := Clone(orig)
	c["act"].(map[string]any)["act"].(map[string]any)["sub"] = "u-mallory"
	c["amr"].([]string)[0] = "x"
	c["aud"].([]any)[1].(map[string]any)["x"] = "z"
	c["mc"].(jwt.MapClaims)["sub"] = "u-mallory"
	if orig["act"].(map[string]any)["act"].(map[string]any)["sub"] != "u-ada" || orig["amr"].([]string)[0] != "pwd" ||
		orig["aud"].([]any)[1].(map[string]any)["x"] != "y" || orig["mc"].(jwt.MapClaims)["sub"] != "u-bob" {
		t.Fatalf("changing the copy changed the original: %v", orig)
	}
	if Clone(nil) != nil {
		t.Fatal("Clone(nil) is not nil")
	}
}
