package main

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/actas-dev/actas/exchange"
)

// parseTrustedProxies reads server.trusted_proxies (CIDRs or single addresses).
func parseTrustedProxies(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies[%d]: %q is neither a CIDR nor an address", i, s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientIP is the address of the client: the TCP peer, unless the peer is a trusted proxy, in which
// case X-Forwarded-For is walked from the right, skipping trusted proxies, and the first untrusted
// address is the client. A malformed header falls back to the peer.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return peer
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a
		}
	}
	return peer
}

// withClientIP puts the client address in the request context for the policy's network rule.
// It passes the same *http.Request on (it sets the context in place) so that the metrics
// middleware still sees the matched route pattern.
func withClientIP(next http.Handler, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*r = *r.WithContext(exchange.WithClientIP(r.Context(), clientIP(r, trusted)))
		next.ServeHTTP(w, r)
	})
}
