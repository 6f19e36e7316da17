package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/actas-dev/actas/storage"
)

// TestStorageUnavailable: every page answers 503 when storage is down, and never says "wrong
// password"; the exported calls return errors wrapping storage.ErrUnavailable, never ErrNoSession.
func TestStorageUnavailable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil)

	loggedIn := h.browser()
	wantRedirect(t, loggedIn.login("alice", "correct horse"), testReturnTo)
	consentURL, err := h.svc.ConsentURL(ctx, "u-alice", testReturnTo, "app", "App", []string{"openid"})
	if err != nil {
		t.Fatal(err)
	}
	req, csrf, _ := loggedIn.consentPage("app", "App", []string{"openid"})
	fresh := h.browser()
	loginCSRF := fresh.loginPage(testReturnTo)
	pending := h.browser()
	otpCSRF := pending.otpPage()

	h.store.unavailable.Store(true)
	tests := []struct {
		name string
		do   func() result
	}{
		{name: "fail/login-post", do: func() result {
			return fresh.post("/login", url.Values{"csrf": {loginCSRF}, "return_to": {testReturnTo},
				"username": {"alice"}, "password": {"correct horse"}})
		}},
		{name: "fail/login-post-wrong-password", do: func() result {
			return fresh.post("/login", url.Values{"csrf": {loginCSRF}, "return_to": {testReturnTo},
				"username": {"alice"}, "password": {"wrong"}})
		}},
		{name: "fail/login-page-with-session", do: func() result {
			return loggedIn.get("/login?return_to=" + url.QueryEscape(testReturnTo))
		}},
		{name: "fail/otp-page", do: func() result { return pending.get("/login/otp") }},
		{name: "fail/otp-post", do: func() result { return pending.sendCode(otpCSRF, "123456") }},
		{name: "fail/consent-page", do: func() result { return loggedIn.get(consentURL) }},
		{name: "fail/consent-post", do: func() result { return loggedIn.decide(req, csrf, "approve") }},
		{name: "fail/probe-current", do: func() result { return loggedIn.get("/probe") }},
		{name: "fail/logout", do: func() result { return loggedIn.post("/probe/logout", nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.do()
			wantStatus(t, r, http.StatusServiceUnavailable)
			if strings.Contains(r.body, genericLoginError) {
				t.Fatal("storage failure reported as bad credentials")
			}
		})
	}

	if _, err := h.svc.HasConsent(ctx, "u-alice", "app", nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("HasConsent: %v", err)
	}
	if err := h.svc.GrantConsent(ctx, "u-alice", "app", nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GrantConsent: %v", err)
	}
	if _, err := h.svc.ConsentURL(ctx, "u-alice", testReturnTo, "app", "App", nil); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("ConsentURL: %v", err)
	}
	if err := h.svc.EndAllSessions(ctx, "u-alice"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("EndAllSessions: %v", err)
	}

	// One failing call is enough: a user lookup that fails is not "unknown user".
	h.store.unavailable.Store(false)
	h.store.failOnly.Store("GetUserByUsername", true)
	r := fresh.post("/login", url.Values{"csrf": {loginCSRF}, "return_to": {testReturnTo},
		"username": {"alice"}, "password": {"correct horse"}})
	wantStatus(t, r, http.StatusServiceUnavailable)
	h.store.failOnly.Delete("GetUserByUsername")
	h.store.failOnly.Store("CreateLoginSession", true)
	r = fresh.post("/login", url.Values{"csrf": {loginCSRF}, "return_to": {testReturnTo},
		"username": {"alice"}, "password": {"correct horse"}})
	wantStatus(t, r, http.StatusServiceUnavailable)
	if fresh.cookie("__Host-actas_session") != "" {
		t.Fatal("session cookie set although the session was not stored")
	}
	h.store.failOnly.Delete("CreateLoginSession")

	// Back up: the failed logout did not end the session, nothing was half-done.
	h.store.unavailable.Store(false)
	if ls, _ := loggedIn.session(); ls == nil {
		t.Fatal("session lost while storage was down")
	}
	if len(h.endedSessions()) != 0 {
		t.Fatalf("hooks fired for a failed delete: %v", h.endedSessions())
	}
}
