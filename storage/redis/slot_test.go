package redis

import (
	"errors"
	"testing"
)

// The expected slots are what CLUSTER KEYSLOT answers on redis-server 7.
func TestKeySlot(t *testing.T) {
	tests := []struct {
		key  string
		want int
	}{
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"123456789", 12739},
		{"a", 15495},
		{"b", 3300},
		{"{user1000}.following", 3443},
		{"{user1000}.followers", 3443},
		{"foo{}{bar}", 8363},    // empty tag: the whole key is hashed
		{"foo{{bar}}zap", 4015}, // tag is "{bar"
		{"foo{bar}{zap}", 5061}, // first tag only: "bar"
		{"{}foo", 9500},         // empty tag
		{"actas:{grant-1}:code", 16007},
	}
	for _, tc := range tests {
		t.Run("ok/"+tc.key, func(t *testing.T) {
			if got := KeySlot(tc.key); got != tc.want {
				t.Errorf("KeySlot(%q) = %d, want %d", tc.key, got, tc.want)
			}
		})
	}
}

func TestSameSlot(t *testing.T) {
	tests := []struct {
		name string
		keys []string
		ok   bool
	}{
		{"ok/none", nil, true},
		{"ok/one", []string{"a"}, true},
		{"ok/shared-tag", []string{"p:{g1}:code", "p:{g1}:pkce", "p:{g1}:oidc"}, true},
		{"fail/untagged", []string{"p:a", "p:b"}, false},
		{"fail/different-tags", []string{"p:{g1}:code", "p:{g2}:code"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := sameSlot(tc.keys, tc.keys)
			if tc.ok != (err == nil) {
				t.Fatalf("sameSlot(%q) = %v, want ok=%v", tc.keys, err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrCrossSlot) {
				t.Fatalf("error = %v, want ErrCrossSlot", err)
			}
		})
	}
}
