package login

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func generateTOTP(secret string, at time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, at, totpOpts)
}

// FuzzWellFormedID: an accepted id is exactly what randomID makes — 43 base64url characters that
// decode strictly to idBytes bytes and re-encode to themselves — and cookieID hands out a cookie
// value only when it is such an id. (Inputs with CR or LF are excluded: see below.)
func FuzzWellFormedID(f *testing.F) {
	f.Add(randomID())
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 42) + "B") // non-zero padding bits: not canonical
	f.Add(strings.Repeat("A", 44))
	f.Add(strings.Repeat("A", 42) + "=")
	f.Add(strings.Repeat("+", 43))
	f.Add("")
	f.Add(strings.Repeat("A", 21) + "\n" + strings.Repeat("A", 21)) // the decoder skips newlines
	f.Fuzz(func(t *testing.T, v string) {
		ok := wellFormedID(v)
		if ok {
			if len(v) != 43 {
				t.Fatalf("accepted %d characters", len(v))
			}
			b, err := base64.RawURLEncoding.DecodeString(v)
			if err != nil || len(b) != idBytes {
				t.Fatalf("accepted %q: %d bytes, %v", v, len(b), err)
			}
			if re := base64.RawURLEncoding.EncodeToString(b); re != v {
				t.Fatalf("accepted %q re-encodes to %q", v, re)
			}
		}
		// cookieID agrees with wellFormedID for any value a cookie header can carry.
		if strings.ContainsAny(v, "\r\n\x00;\" ") {
			return
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "sid="+v)
		got, cok := cookieID(r, "sid")
		if cok && (got != v || !ok) {
			t.Fatalf("cookieID(%q) = %q, true; wellFormedID = %v", v, got, ok)
		}
		if !cok && got != "" {
			t.Fatalf("cookieID refused %q but returned %q", v, got)
		}
		if ok {
			if c, err := r.Cookie("sid"); err == nil && c.Value == v && !cok {
				t.Fatalf("cookieID refused the well-formed %q", v)
			}
		}
	})
}

// FuzzCookieID: a raw Cookie header never makes cookieID panic or hand out a malformed id.
func FuzzCookieID(f *testing.F) {
	id := randomID()
	f.Add("sid="+id, "sid")
	f.Add("a=b; sid="+id+"; c=d", "sid")
	f.Add("sid=\""+id+"\"", "sid")
	f.Add("sid="+id+"; sid=junk", "sid")
	f.Add("sid=junk; sid="+id, "sid")
	f.Add("__Host-sid="+id, "__Host-sid")
	f.Add("sid=", "sid")
	f.Add(";;;=;", "")
	f.Fuzz(func(t *testing.T, header, name string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header["Cookie"] = []string{header}
		got, ok := cookieID(r, name)
		if ok != (got != "") {
			t.Fatalf("cookieID = %q, %v", got, ok)
		}
		if ok && !wellFormedID(got) {
			t.Fatalf("cookieID handed out the malformed %q", got)
		}
	})
}

// FuzzIPKey: ipKey is idempotent (a key is its own key); an address becomes its IPv4 form (an
// IPv4-mapped IPv6 address included) or its IPv6 /64; anything else is kept as it is.
func FuzzIPKey(f *testing.F) {
	for _, s := range []string{"192.0.2.7", "::ffff:192.0.2.7", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64",
		"fe80::1%eth0", "::ffff:192.0.2.7%eth0", "::1", "", "not an ip", "01.2.3.4", "1.2.3.4:80", "[::1]:80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ip string) {
		k := ipKey(ip)
		if again := ipKey(k); again != k {
			t.Fatalf("ipKey(%q) = %q, but ipKey(%q) = %q", ip, k, k, again)
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			if k != ip {
				t.Fatalf("ipKey(%q) = %q, want the input back", ip, k)
			}
			return
		}
		if a = a.Unmap(); a.Is4() {
			if k != a.String() {
				t.Fatalf("ipKey(%q) = %q, want %q", ip, k, a)
			}
			return
		}
		p, err := netip.ParsePrefix(k)
		if err != nil || p.Bits() != 64 || !p.Contains(a.WithZone("")) {
			t.Fatalf("ipKey(%q) = %q, want the /64 holding it (%v)", ip, k, err)
		}
	})
}

// FuzzConsentRequestID: the consent request id of a form or query never reaches storage unless it
// is well formed; anything else is errConsentGone (the store is empty, so a well-formed id is
// errConsentGone too, after one lookup).
func FuzzConsentRequestID(f *testing.F) {
	f.Add(randomID())
	f.Add("")
	f.Add("../../etc/passwd")
	f.Add(strings.Repeat("A", 43))
	f.Add(strings.Repeat("A", 42) + "B")
	clock := newFakeClock()
	s, err := New(Options{Store: newFakeStore(clock), Issuer: "https://id.example", Now: clock.Now})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id string) {
		c, err := s.loadConsentRequest(context.Background(), id)
		if c != nil || !errors.Is(err, errConsentGone) {
			t.Fatalf("loadConsentRequest(%q) = %v, %v", id, c, err)
		}
	})
}

// FuzzVerifyTOTP: verifyTOTP (on the fake store, which never fails) returns nil, errTOTPInvalid or
// errTOTPReplayed and nothing else. It accepts a submission only when, once spaces and dashes are
// dropped, it is the 6-digit code of the current step ±1, and then at most once: submitting it
// again is errTOTPReplayed.
func FuzzVerifyTOTP(f *testing.F) {
	clock := newFakeClock()
	now := clock.Now()
	code := func(at time.Time) string {
		c, err := generateTOTP(testTOTPSecret, at)
		if err != nil {
			f.Fatal(err)
		}
		return c
	}
	cur := code(now)
	f.Add(cur)
	f.Add(cur[:3] + " " + cur[3:])
	f.Add(cur[:3] + "-" + cur[3:])
	f.Add(" " + cur + " ")
	f.Add(code(now.Add(-30 * time.Second)))
	f.Add(code(now.Add(60 * time.Second)))
	f.Add("12a456")
	f.Add("１２３４５６") // full-width digits
	f.Add("")
	f.Fuzz(func(t *testing.T, submitted string) {
		s, err := New(Options{Store: newFakeStore(clock), Issuer: "https://id.example", Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		err = s.verifyTOTP(ctx, "u-1", testTOTPSecret, submitted)
		clean := strings.NewReplacer(" ", "", "-", "").Replace(submitted)
		valid := false
		for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
			if c, _ := generateTOTP(testTOTPSecret, now.Add(d)); c == clean {
				valid = true
			}
		}
		switch {
		case err == nil && !valid:
			t.Fatalf("accepted %q", submitted)
		case err == nil:
			if again := s.verifyTOTP(ctx, "u-1", testTOTPSecret, submitted); !errors.Is(again, errTOTPReplayed) {
				t.Fatalf("second use of %q: %v", submitted, again)
			}
		case errors.Is(err, errTOTPInvalid):
			if valid {
				t.Fatalf("refused the valid %q", submitted)
			}
		default:
			t.Fatalf("verifyTOTP(%q): unexpected %v", submitted, err)
		}
	})
}
