package main

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: clientIP never panics, and what it returns is the TCP peer (its IPv4 form when
// IPv4-mapped), one of the X-Forwarded-For addresses (likewise), or the zero address when the peer
// is not an address at all. An untrusted peer is always returned as it is: the header is read only
// behind a trusted proxy. An address taken from the header is never itself a trusted proxy.
func FuzzClientIP(f *testing.F) {
	trusted, err := parseTrustedProxies([]string{"10.0.0.0/8", "::1", "fd00::/8"})
	if err != nil {
		f.Fatal(err)
	}
	f.Add("10.0.0.1:443", "203.0.113.7")
	f.Add("10.0.0.1:443", "203.0.113.7, 10.0.0.2")
	f.Add("10.0.0.1:443", "198.51.100.1, 203.0.113.7, 10.1.2.3")
	f.Add("10.0.0.1:443", "10.0.0.3, 10.0.0.2")
	f.Add("10.0.0.1:443", "garbage, 203.0.113.7")
	f.Add("10.0.0.1:443", "203.0.113.7, garbage")
	f.Add("[::1]:443", "::ffff:203.0.113.7")
	f.Add("[::ffff:10.0.0.1]:443", "2001:db8::1")
	f.Add("203.0.113.9:1234", "10.0.0.1")
	f.Add("[fe80::1%eth0]:80", "")
	f.Add("not-an-address", "203.0.113.7")
	f.Add("10.0.0.1", "")
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		if xff != "" {
			r.Header["X-Forwarded-For"] = strings.Split(xff, "\n")
		}
		got := clientIP(r, trusted)
		if !got.IsValid() {
			return // the peer is not an address
		}
		isTrusted := func(a netip.Addr) bool {
			for _, p := range trusted {
				if p.Contains(a) {
					return true
				}
			}
			return false
		}
		// The peer as http.Server reports it: "host:port" (an address without a port is taken whole).
		host, _, err := net.SplitHostPort(remote)
		if err != nil {
			host = remote
		}
		peer, perr := netip.ParseAddr(host)
		if perr == nil && got == peer.Unmap() {
			return
		}
		if perr == nil && !isTrusted(peer.Unmap()) {
			t.Fatalf("untrusted peer %q, but got %v", remote, got)
		}
		for _, h := range r.Header.Values("X-Forwarded-For") {
			for _, s := range strings.Split(h, ",") {
				if a, err := netip.ParseAddr(strings.TrimSpace(s)); err == nil && a.Unmap() == got {
					if isTrusted(got) {
						t.Fatalf("returned the trusted proxy %v from the header", got)
					}
					return
				}
			}
		}
		t.Fatalf("clientIP(%q, X-Forwarded-For %q) = %v: neither the peer nor a header address", remote, xff, got)
	})
}
