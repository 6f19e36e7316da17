package exchange

import (
	"context"
	"net"
	"net/http"
	"net/netip"

	"github.com/ory/fosite"
)

// clientIPKey is the unexported context key of the client address (STYLE §9).
type clientIPKey struct{}

// WithClientIP returns a copy of ctx carrying the request's client address, already resolved
// through the trusted proxies (X-Forwarded-For is the caller's business). The token endpoint sets
// it before fosite sees the request; the impersonation policy's network rule reads it.
func WithClientIP(ctx context.Context, ip netip.Addr) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}

// ClientIP returns the address set by [WithClientIP]. Without one it falls back to the TCP peer
// of the HTTP request that fosite puts in the context (correct only without a reverse proxy); the
// zero Addr means unknown, which the policy treats as outside every configured network.
func ClientIP(ctx context.Context) netip.Addr {
	if ip, ok := ctx.Value(clientIPKey{}).(netip.Addr); ok {
		return ip
	}
	if r, ok := ctx.Value(fosite.RequestContextKey).(*http.Request); ok && r != nil {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			return ip.Unmap()
		}
	}
	return netip.Addr{}
}
