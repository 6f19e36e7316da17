package login

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func wantTooMany(t *testing.T, r result, maxWait time.Duration) {
	t.Helper()
	wantStatus(t, r, http.StatusTooManyRequests)
	sec, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || sec <= 0 || time.Duration(sec)*time.Second > maxWait {
		t.Fatalf("Retry-After %q, want 1..%v seconds", r.header.Get("Retry-After"), maxWait)
	}
	if !strings.Contains(errorText(r.body), "Too many failed sign-in attempts") {
		t.Fatalf("429 page says %q", errorText(r.body))
	}
}

func TestRateLimitPerUser(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) {
		o.MaxAttemptsPerUser, o.MaxAttemptsPerIP, o.RateWindow = 3, 100, 10*time.Minute
	})
	b := h.browser()
	for i := 0; i < 3; i++ {
		if got := errorText(b.login("alice", "wrong").body); got != genericLoginError {
			t.Fatalf("attempt %d: %q", i+1, got)
		}
	}
	h.clock.Advance(time.Minute)
	// Even the right password is refused now, without revealing that it was right.
	wantTooMany(t, b.login("alice", "correct horse"), 9*time.Minute)
	if r := b.login("alice", "correct horse"); r.header.Get("Retry-After") != "540" {
		t.Fatalf("Retry-After %q, want 540 (the rest of the window)", r.header.Get("Retry-After"))
	}
	// Other users are not affected; unknown users are limited the same way as known ones.
	wantRedirect(t, h.browser().login("dave", "correct horse"), testReturnTo)
	for i := 0; i < 3; i++ {
		b.login("mallory", "x")
	}
	wantTooMany(t, b.login("mallory", "x"), 10*time.Minute)
	// Usernames are limited case-insensitively.
	wantTooMany(t, b.login("Alice", "correct horse"), 10*time.Minute)

	h.clock.Advance(10 * time.Minute)
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
}

// TestRateLimitParallel: attempts sent at once are counted before they are checked, so no more
// than the limit reach the password check, however many arrive together.
func TestRateLimitParallel(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) {
		o.MaxAttemptsPerUser, o.MaxAttemptsPerIP, o.RateWindow = 3, 100, 10*time.Minute
	})
	h.store.lookupDelay.Store(int64(50 * time.Millisecond)) // every attempt is in flight at once
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	start := make(chan struct{})
	for range n {
		b := h.browser()
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if r := b.login("alice", "wrong"); errorText(r.body) == genericLoginError {
				mu.Lock()
				checked++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if checked != 3 {
		t.Fatalf("%d of %d parallel attempts reached the password check, want exactly the limit (3)", checked, n)
	}
	// A success gives its count back: two failures and a success leave room for one more failure.
	h2 := newHarness(t, func(o *Options) { o.MaxAttemptsPerUser, o.MaxAttemptsPerIP = 3, 100 })
	b := h2.browser()
	b.login("alice", "wrong")
	b.login("alice", "wrong")
	wantRedirect(t, h2.browser().login("alice", "correct horse"), testReturnTo)
	if got := errorText(b.login("alice", "wrong").body); got != genericLoginError {
		t.Fatalf("third failure: %q", got)
	}
	wantTooMany(t, b.login("alice", "wrong"), 15*time.Minute)
}

func TestRateLimitPerIP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.MaxAttemptsPerUser, o.MaxAttemptsPerIP = 100, 3 })
	b := h.browser()
	for _, u := range []string{"alice", "dave", "nobody"} {
		b.login(u, "wrong")
	}
	wantTooMany(t, h.browser().login("dave", "correct horse"), 15*time.Minute)
}

func TestRateLimitSecondFactor(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.MaxAttemptsPerUser, o.MaxAttemptsPerIP = 3, 100 })
	b := h.browser()
	csrf := b.otpPage()
	for i := 0; i < 3; i++ {
		wantStatus(t, b.sendCode(csrf, "000000"), http.StatusOK)
	}
	r := b.sendCode(csrf, codeAt(t, testTOTPSecret, h.clock.Now()))
	wantTooMany(t, r, 15*time.Minute)
	if ls, _ := b.session(); ls != nil {
		t.Fatal("session despite the limit")
	}
}

func TestIPKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "ok/ipv4", in: "192.0.2.7", want: "192.0.2.7"},
		{name: "ok/ipv4-mapped", in: "::ffff:192.0.2.7", want: "192.0.2.7"},
		{name: "ok/ipv6-per-64", in: "2001:db8:1:2:3:4:5:6", want: "2001:db8:1:2::/64"},
		{name: "ok/ipv6-zone", in: "fe80::1%eth0", want: "fe80::/64"},
		{name: "ok/not-an-ip", in: "proxy", want: "proxy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ipKey(tt.in); got != tt.want {
				t.Fatalf("ipKey(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
