package main

import (
	"net/http/httptest"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted, err := parseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, peer, xff, want string
	}{
		{"ok/untrusted-peer-ignores-xff", "203.0.113.9:1234", "198.51.100.1", "203.0.113.9"},
		{"ok/trusted-peer-uses-xff", "10.1.2.3:1234", "198.51.100.1", "198.51.100.1"},
		{"ok/skips-trusted-hops-from-the-right", "10.1.2.3:1234", "198.51.100.7, 192.0.2.1, 10.9.9.9", "198.51.100.7"},
		{"ok/spoofed-leftmost-is-not-believed", "10.1.2.3:1234", "1.2.3.4, 198.51.100.7", "198.51.100.7"},
		{"fail/malformed-xff-falls-back-to-peer", "10.1.2.3:1234", "not-an-ip", "10.1.2.3"},
		{"ok/ipv6", "[2001:db8::1]:443", "", "2001:db8::1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if got := clientIP(r, trusted).String(); got != tc.want {
				t.Fatalf("clientIP = %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := parseTrustedProxies([]string{"nope"}); err == nil {
		t.Fatal("a bad trusted proxy was accepted")
	}
}
