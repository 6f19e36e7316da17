package keys

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite/token/jwt"
)

// TestVerifyCache: a verified token is served from the cache, still expires on time, a forged
// variant is never a hit, and a new key set (rotation) does not inherit the cache.
func TestVerifyCache(t *testing.T) {
	k, err := Generate(ES256)
	if err != nil {
		t.Fatal(err)
	}
	set, err := NewSet([]Key{k})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHolder(set)
	s := h.Signer(ES256)
	ctx := context.Background()
	sign := func(exp time.Time) string {
		tok, _, err := s.Generate(ctx, jwt.MapClaims{"sub": "u", "exp": exp.Unix(), "act": map[string]any{"sub": "a"}}, &jwt.Headers{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	tok := sign(time.Now().Add(time.Hour))
	if _, err := s.Decode(ctx, tok); err != nil {
		t.Fatalf("first decode: %v", err)
	}
	got, ok := set.verified.get(tok, time.Now())
	if !ok || got.Claims["sub"] != "u" {
		t.Fatalf("verified token not cached: %v %v", got, ok)
	}
	// A caller that changes the claims it got does not change the cache.
	got.Claims["act"].(map[string]any)["sub"] = "mallory"
	again, err := s.Decode(ctx, tok)
	if err != nil || again.Claims["act"].(map[string]any)["sub"] != "a" {
		t.Fatalf("cached claims were mutable: %v %v", again.Claims, err)
	}
	// A forged signature is a different cache key, so it is verified — and fails.
	forged := tok[:strings.LastIndexByte(tok, '.')+1] + "AAAA" + tok[strings.LastIndexByte(tok, '.')+5:]
	if _, err := s.Decode(ctx, forged); err == nil {
		t.Fatal("forged token accepted")
	}
	// An expired token is refused even if it had been cached.
	short := sign(time.Now().Add(time.Second))
	if _, err := s.Decode(ctx, short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // fosite treats exp as valid through its whole second
	if _, err := s.Decode(ctx, short); err == nil {
		dt, _ := s.Decode(ctx, short)
		t.Fatalf("expired token accepted from the cache: claims %#v now %d", dt.Claims, time.Now().Unix())
	}
	// Rotation: a new set whose only key is another one refuses the old token.
	k2, _ := Generate(ES256)
	set2, _ := NewSet([]Key{k2})
	h.Store(set2)
	if _, err := s.Decode(ctx, tok); err == nil {
		t.Fatal("a token of a key no longer in the set was accepted (stale cache)")
	}
}
