package login

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

const testTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestService(t *testing.T, clock *fakeClock, store *fakeStore, mod func(*Options)) *Service {
	t.Helper()
	o := Options{Store: store, Issuer: "https://id.example", Now: clock.Now}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyTOTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		code func(now time.Time) string
		want error
	}{
		{name: "ok/current-step", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now) }},
		{name: "ok/previous-step", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now.Add(-30*time.Second)) }},
		{name: "ok/next-step", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now.Add(30*time.Second)) }},
		{name: "ok/with-space", code: func(now time.Time) string {
			c := codeAt(t, testTOTPSecret, now)
			return c[:3] + " " + c[3:]
		}},
		{name: "fail/two-steps-back", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now.Add(-60*time.Second)) }, want: errTOTPInvalid},
		{name: "fail/two-steps-ahead", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now.Add(60*time.Second)) }, want: errTOTPInvalid},
		{name: "fail/other-secret", code: func(now time.Time) string { return codeAt(t, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU", now) }, want: errTOTPInvalid},
		{name: "fail/letters", code: func(time.Time) string { return "12a456" }, want: errTOTPInvalid},
		{name: "fail/five-digits", code: func(now time.Time) string { return codeAt(t, testTOTPSecret, now)[:5] }, want: errTOTPInvalid},
		{name: "fail/empty", code: func(time.Time) string { return "" }, want: errTOTPInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock()
			clock.Advance(12 * time.Second) // mid-step
			s := newTestService(t, clock, newFakeStore(clock), nil)
			err := s.verifyTOTP(context.Background(), "u1", testTOTPSecret, tt.code(clock.Now()))
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("verifyTOTP = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVerifyTOTPReplay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	store := newFakeStore(clock)
	s := newTestService(t, clock, store, nil)
	now := clock.Now()
	code := codeAt(t, testTOTPSecret, now)
	if err := s.verifyTOTP(ctx, "u1", testTOTPSecret, code); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if err := s.verifyTOTP(ctx, "u1", testTOTPSecret, code); !errors.Is(err, errTOTPReplayed) {
		t.Fatalf("second use in the same step: %v, want errTOTPReplayed", err)
	}
	clock.Advance(30 * time.Second) // the code is now the previous step's: still in the window
	if err := s.verifyTOTP(ctx, "u1", testTOTPSecret, code); !errors.Is(err, errTOTPReplayed) {
		t.Fatalf("reuse one step later: %v, want errTOTPReplayed", err)
	}
	if err := s.verifyTOTP(ctx, "u2", testTOTPSecret, code); err != nil {
		t.Fatalf("another user with the same secret: %v", err)
	}
	// Once a newer code was used, an older (still in-window) one is refused.
	newer := codeAt(t, testTOTPSecret, clock.Now())
	if err := s.verifyTOTP(ctx, "u3", testTOTPSecret, newer); err != nil {
		t.Fatal(err)
	}
	if err := s.verifyTOTP(ctx, "u3", testTOTPSecret, code); !errors.Is(err, errTOTPReplayed) {
		t.Fatalf("older code after a newer one: %v, want errTOTPReplayed", err)
	}
	// The used-step marks expire: they do not pile up forever.
	clock.Advance(5 * time.Minute)
	if n := store.countRecords(kindTOTPUsed); n != 0 {
		t.Fatalf("%d used-step records left after their window", n)
	}
}

func TestNewTOTPSecret(t *testing.T) {
	t.Parallel()
	secret, uri, err := NewTOTPSecret("actas", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != 32 {
		t.Fatalf("secret %q: want 160 bits in base32", secret)
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" {
		t.Fatalf("uri %q: %v", uri, err)
	}
	q := u.Query()
	if q.Get("secret") != secret || q.Get("issuer") != "actas" || q.Get("digits") != "6" ||
		q.Get("period") != "30" || !strings.EqualFold(q.Get("algorithm"), "SHA1") {
		t.Fatalf("uri parameters %v", q)
	}
	clock := newFakeClock()
	s := newTestService(t, clock, newFakeStore(clock), nil)
	if err := s.verifyTOTP(context.Background(), "u1", secret, codeAt(t, secret, clock.Now())); err != nil {
		t.Fatalf("code from the new secret: %v", err)
	}
	other, _, _ := NewTOTPSecret("actas", "alice@example.com")
	if other == secret {
		t.Fatal("two secrets are equal")
	}
}
