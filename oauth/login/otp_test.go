package login

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// otpPage logs bob in with his password and returns the second-factor form's CSRF token.
func (b *browser) otpPage() string {
	b.t.Helper()
	wantRedirect(b.t, b.login("bob", "correct horse"), "/login/otp")
	if ls, _ := b.session(); ls != nil {
		b.t.Fatal("a session exists before the second factor")
	}
	page := b.get("/login/otp")
	wantStatus(b.t, page, http.StatusOK)
	return field(b.t, page.body, "csrf")
}

func (b *browser) sendCode(csrf, code string) result {
	b.t.Helper()
	return b.post("/login/otp", url.Values{"csrf": {csrf}, "code": {code}})
}

func TestLoginWithTOTP(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("bob", "correct horse"), "/login/otp")
	page := b.get("/login/otp")
	wantStatus(t, page, http.StatusOK)
	for _, want := range []string{`autocomplete="one-time-code"`, `inputmode="numeric"`, `<label for="code">`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("code page lacks %s", want)
		}
	}
	if page.header.Get("Cache-Control") != "no-store" || page.header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("code page headers %v", page.header)
	}
	csrf := field(t, page.body, "csrf")

	wrong := codeAt(t, testTOTPSecret, h.clock.Now().Add(5*time.Minute))
	r := b.sendCode(csrf, wrong)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(errorText(r.body), "not valid") {
		t.Fatalf("wrong code: %q", errorText(r.body))
	}

	r = b.sendCode(csrf, codeAt(t, testTOTPSecret, h.clock.Now()))
	wantRedirect(t, r, testReturnTo)
	if c := sessionCookie(t, r, "__Host-actas_session_pending"); c.MaxAge >= 0 {
		t.Fatalf("pending cookie not cleared: %+v", c)
	}
	ls, status := b.session()
	if ls == nil {
		t.Fatalf("no session: %d", status)
	}
	if ls.Subject != "u-bob" || !slices.Equal(ls.AMR, []string{"pwd", "otp", "mfa"}) || ls.ACR != ACRMFA {
		t.Fatalf("session %+v", ls)
	}
	if n := h.store.countRecords(kindPending); n != 0 {
		t.Fatalf("%d pending sign-ins left", n)
	}
}

func TestTOTPReplayAcrossLogins(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	code := codeAt(t, testTOTPSecret, h.clock.Now())
	first := h.browser()
	wantRedirect(t, first.sendCode(first.otpPage(), code), testReturnTo)

	second := h.browser()
	r := second.sendCode(second.otpPage(), code)
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(errorText(r.body), "already used") {
		t.Fatalf("replayed code: %q", errorText(r.body))
	}
	if ls, _ := second.session(); ls != nil {
		t.Fatal("replayed code made a session")
	}
	h.clock.Advance(30 * time.Second)
	wantRedirect(t, second.sendCode(field(t, second.get("/login/otp").body, "csrf"),
		codeAt(t, testTOTPSecret, h.clock.Now())), testReturnTo)
}

func TestTOTPNeedsPassword(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name  string
		setup func(b *browser) string // returns the csrf to send
	}{
		{name: "fail/no-pending-cookie", setup: func(*browser) string { return "x" }},
		{name: "fail/forged-pending-cookie", setup: func(b *browser) string {
			u, _ := url.Parse(h.srv.URL)
			b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-actas_session_pending", Value: randomID(), Path: "/"}})
			return "x"
		}},
		{name: "fail/pending-expired", setup: func(b *browser) string {
			csrf := b.otpPage()
			h.clock.Advance(pendingTTL + time.Second)
			return csrf
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := h.browser()
			csrf := tt.setup(b)
			wantStatus(t, b.get("/login/otp"), http.StatusBadRequest)
			r := b.sendCode(csrf, codeAt(t, testTOTPSecret, h.clock.Now()))
			wantStatus(t, r, http.StatusBadRequest)
			if ls, _ := b.session(); ls != nil {
				t.Fatal("session without a password")
			}
		})
	}
}

func TestTOTPTooManyWrongCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.MaxAttemptsPerUser = 100 })
	b := h.browser()
	csrf := b.otpPage()
	for i := 1; i < maxCodeAttempts; i++ {
		wantStatus(t, b.sendCode(csrf, "000000"), http.StatusOK)
	}
	r := b.sendCode(csrf, "000000")
	wantStatus(t, r, http.StatusBadRequest)
	if !strings.Contains(r.body, "Too many wrong codes") {
		t.Fatalf("body %s", r.body)
	}
	// The pending sign-in is gone: even the right code now needs the password again.
	wantStatus(t, b.sendCode(csrf, codeAt(t, testTOTPSecret, h.clock.Now())), http.StatusBadRequest)
}

func TestTOTPCSRF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	b.otpPage()
	wantStatus(t, b.sendCode("", codeAt(t, testTOTPSecret, h.clock.Now())), http.StatusForbidden)
	wantStatus(t, b.sendCode(randomID(), codeAt(t, testTOTPSecret, h.clock.Now())), http.StatusForbidden)
	r := b.post("/login/otp", url.Values{"csrf": {"x"}, "code": {"123456"}}, "Sec-Fetch-Site", "cross-site")
	wantStatus(t, r, http.StatusForbidden)
	if ls, _ := b.session(); ls != nil {
		t.Fatal("session after refused forms")
	}
}
