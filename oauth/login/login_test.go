package login

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func TestLoginPasswordOnly(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()

	page := b.get("/login?return_to=" + url.QueryEscape(testReturnTo) + "&login_hint=alice")
	wantStatus(t, page, http.StatusOK)
	for k, v := range map[string]string{
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
	} {
		if got := page.header.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for _, want := range []string{
		`autocomplete="username"`, `autocomplete="current-password"`, `<label for="username">`,
		`<label for="password">`, `value="alice"`, `/assets/login/login.css`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if strings.Contains(page.body, "<script") || strings.Contains(page.body, "style=") {
		t.Error("login page has a script or an inline style")
	}

	r := b.post("/login", url.Values{
		"csrf": {field(t, page.body, "csrf")}, "return_to": {testReturnTo},
		"username": {"alice"}, "password": {"correct horse"},
	})
	wantRedirect(t, r, testReturnTo)
	c := sessionCookie(t, r, "__Host-actas_session")
	if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || len(c.Value) < 22 {
		t.Fatalf("session cookie %+v: want HttpOnly, Secure, SameSite=Lax, Path=/, ≥128-bit value", c)
	}
	ls, status := b.session()
	if ls == nil {
		t.Fatalf("no session after login: %d", status)
	}
	if ls.Subject != "u-alice" || !slices.Equal(ls.AMR, []string{"pwd"}) || ls.ACR != ACRPassword ||
		!ls.AuthTime.Equal(h.clock.Now()) || ls.ID != c.Value || ls.CSRFToken == "" {
		t.Fatalf("session %+v", ls)
	}

	// With a session, the login page goes straight back, unless prompt=login.
	wantRedirect(t, b.get("/login?return_to="+url.QueryEscape(testReturnTo)), testReturnTo)
	wantStatus(t, b.get("/login?prompt=login&return_to="+url.QueryEscape(testReturnTo)), http.StatusOK)
}

func sessionCookie(t *testing.T, r result, name string) *http.Cookie {
	t.Helper()
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err == nil && c.Name == name {
			return c
		}
	}
	t.Fatalf("no Set-Cookie %s in %v", name, r.header.Values("Set-Cookie"))
	return nil
}

func TestLoginRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name, username, password string
	}{
		{name: "fail/wrong-password", username: "alice", password: "wrong"},
		{name: "fail/unknown-user", username: "mallory", password: "correct horse"},
		{name: "fail/disabled-user", username: "carol", password: "correct horse"},
		{name: "fail/case-differs", username: "ALICE", password: "correct horse"},
		{name: "fail/oversized-username", username: strings.Repeat("a", 300), password: "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := h.browser()
			r := b.login(tt.username, tt.password)
			wantStatus(t, r, http.StatusOK)
			if got := errorText(r.body); got != genericLoginError {
				t.Fatalf("error text %q, want the generic %q", got, genericLoginError)
			}
			if len(r.header.Values("Set-Cookie")) != 0 {
				t.Fatalf("refused login set cookies: %v", r.header.Values("Set-Cookie"))
			}
			if ls, _ := b.session(); ls != nil {
				t.Fatalf("refused login has a session %+v", ls)
			}
		})
	}
}

func TestLoginMissingFields(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	r := b.login("alice", "")
	wantStatus(t, r, http.StatusOK)
	if got := errorText(r.body); !strings.Contains(got, "Enter your username and password") {
		t.Fatalf("error %q", got)
	}
}

func TestLoginReturnToRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	for _, rt := range []string{
		"", "https://evil.example/", "//evil.example/oauth2/auth?x", "/\\evil.example",
		"/account/%2e%2e/oauth2/token", "/oauth2/token?grant_type=x", "javascript:alert(1)",
	} {
		t.Run("fail/"+rt, func(t *testing.T) {
			t.Parallel()
			b := h.browser()
			wantStatus(t, b.get("/login?return_to="+url.QueryEscape(rt)), http.StatusBadRequest)
			// The POST checks it too, even with a valid token and password.
			csrf := b.loginPage(testReturnTo)
			r := b.post("/login", url.Values{
				"csrf": {csrf}, "return_to": {rt}, "username": {"alice"}, "password": {"correct horse"},
			})
			wantStatus(t, r, http.StatusBadRequest)
			if r.header.Get("Location") != "" {
				t.Fatalf("redirected to %q", r.header.Get("Location"))
			}
			if ls, _ := b.session(); ls != nil {
				t.Fatal("session created")
			}
		})
	}
}

func TestLoginReplacesSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	first, _ := b.session()
	// Without prompt=login the page would redirect straight back.
	page := b.get("/login?prompt=login&return_to=" + url.QueryEscape(testReturnTo))
	wantStatus(t, page, http.StatusOK)
	r := b.post("/login", url.Values{
		"csrf": {field(t, page.body, "csrf")}, "return_to": {testReturnTo},
		"username": {"dave"}, "password": {"correct horse"},
	})
	wantRedirect(t, r, testReturnTo)
	second, _ := b.session()
	if second == nil || second.ID == first.ID || second.Subject != "u-dave" {
		t.Fatalf("second session %+v after first %+v: want a new id (no fixation)", second, first)
	}
	if got := h.endedSessions(); !slices.Equal(got, []string{"u-alice " + first.ID}) {
		t.Fatalf("ended hooks %v, want the first session", got)
	}
}

func TestAssetsAndIssuerPath(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	r := h.browser().get("/assets/login/login.css")
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("Content-Type %q", ct)
	}

	clock := newFakeClock()
	s := newTestService(t, clock, newFakeStore(clock), func(o *Options) { o.Issuer = "https://id.example/idp/" })
	got := s.LoginURL(testReturnTo, "login", "alice")
	want := "/idp/login?login_hint=alice&prompt=login&return_to=" + url.QueryEscape(testReturnTo)
	if got != want {
		t.Fatalf("LoginURL = %q, want %q", got, want)
	}
	mux := http.NewServeMux()
	s.Routes(mux)
	rec := httptestRecorder(mux, "GET", got)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `action="/idp/login"`) {
		t.Fatalf("GET %s: %d %s", got, rec.Code, rec.Body.String())
	}
}
