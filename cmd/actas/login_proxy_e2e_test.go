package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/actas-dev/actas/config"
)

// forwardedFor sets X-Forwarded-For on every request, as a proxy in front of actas would.
type forwardedFor struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

// TestLoginLimitBehindProxy: behind a trusted proxy the failed-login limit per address counts the
// client's address (server.trusted_proxies), not the proxy's: failures from other clients do not
// lock a new one out, and one client's failures still do.
func TestLoginLimitBehindProxy(t *testing.T) {
	srv := startServer(t, "memory", func(c *config.Config) {
		c.Server.TrustedProxies = []string{"127.0.0.1/32", "::1/128"}
		c.Login.MaxAttemptsPerIP = 3
	})
	login := func(addr, username, password string) int {
		t.Helper()
		b := newBrowser(t, srv.URL)
		b.c.Transport = forwardedFor{addr: addr, next: http.DefaultTransport}
		return b.submit(b.get(srv.URL+"/login?return_to="+url.QueryEscape("/account/consents")), map[string]string{"username": username, "password": password}).resp.StatusCode
	}
	for _, addr := range []string{"198.51.100.1", "198.51.100.2", "198.51.100.3"} {
		if code := login(addr, "bob", "wrong"); code == http.StatusTooManyRequests {
			t.Fatalf("the first failure from %s was already limited", addr)
		}
	}
	if code := login("198.51.100.4", "alice", "alice-demo-pass"); code == http.StatusTooManyRequests {
		t.Fatal("other clients' failures locked a new client out: the limit counted the proxy's address")
	}
	for range 3 {
		login("198.51.100.5", "carol", "wrong")
	}
	if code := login("198.51.100.5", "dave", "wrong"); code != http.StatusTooManyRequests {
		t.Fatalf("a fourth failure from one client: %d, want 429", code)
	}
}
