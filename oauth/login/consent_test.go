package login

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// consentPage opens the consent page for a fresh consent request and returns its form.
func (b *browser) consentPage(clientID, clientName string, scopes []string) (request, csrf string, page result) {
	b.t.Helper()
	u, err := b.h.svc.ConsentURL(context.Background(), "u-alice", testReturnTo, clientID, clientName, scopes)
	if err != nil {
		b.t.Fatal(err)
	}
	page = b.get(u)
	wantStatus(b.t, page, http.StatusOK)
	return field(b.t, page.body, "request"), field(b.t, page.body, "csrf"), page
}

func (b *browser) decide(request, csrf, action string, headers ...string) result {
	b.t.Helper()
	return b.post("/consent", url.Values{"request": {request}, "csrf": {csrf}, "action": {action}}, headers...)
}

func TestConsentGrantAndMemory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	ls, _ := b.session()

	has, err := h.svc.HasConsent(ctx, "u-alice", "app", []string{"openid"})
	if err != nil || has {
		t.Fatalf("HasConsent before any grant = %v, %v", has, err)
	}
	req, csrf, page := b.consentPage("app", "Example <App>", []string{"openid", "email", "billing:read"})
	if csrf != ls.CSRFToken {
		t.Fatal("consent form token is not the session's CSRF token")
	}
	for _, want := range []string{"Example &lt;App&gt;", "See your email address", "<code>billing:read</code>", "Alice Doe (alice)", `value="approve"`, `value="deny"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("consent page lacks %s", want)
		}
	}
	if page.header.Get("X-Frame-Options") != "DENY" || page.header.Get("Cache-Control") != "no-store" {
		t.Errorf("consent page headers %v", page.header)
	}
	wantRedirect(t, b.decide(req, csrf, "approve"), testReturnTo)

	tests := []struct {
		name, subject, client string
		scopes                []string
		want                  bool
	}{
		{name: "ok/all-granted", subject: "u-alice", client: "app", scopes: []string{"openid", "email", "billing:read"}, want: true},
		{name: "ok/subset", subject: "u-alice", client: "app", scopes: []string{"email"}, want: true},
		{name: "ok/none-requested", subject: "u-alice", client: "app", want: true},
		{name: "fail/more-scopes", subject: "u-alice", client: "app", scopes: []string{"openid", "profile"}},
		{name: "fail/other-client", subject: "u-alice", client: "other", scopes: []string{"openid"}},
		{name: "fail/other-subject", subject: "u-dave", client: "app", scopes: []string{"openid"}},
	}
	for _, tt := range tests {
		has, err := h.svc.HasConsent(ctx, tt.subject, tt.client, tt.scopes)
		if err != nil || has != tt.want {
			t.Errorf("%s: HasConsent = %v, %v; want %v", tt.name, has, err, tt.want)
		}
	}

	// The request is decided once.
	wantStatus(t, b.decide(req, csrf, "approve"), http.StatusBadRequest)

	// A later grant adds scopes; the remembered consent expires after ConsentTTL.
	req, csrf, _ = b.consentPage("app", "Example App", []string{"profile"})
	wantRedirect(t, b.decide(req, csrf, "approve"), testReturnTo)
	if has, _ := h.svc.HasConsent(ctx, "u-alice", "app", []string{"openid", "profile", "email"}); !has {
		t.Fatal("scopes of two grants not combined")
	}
	h.clock.Advance(90*24*time.Hour + time.Second)
	if has, _ := h.svc.HasConsent(ctx, "u-alice", "app", []string{"openid"}); has {
		t.Fatal("consent outlived ConsentTTL")
	}
	if err := h.svc.GrantConsent(ctx, "u-alice", "app", []string{"openid"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.RevokeConsent(ctx, "u-alice", "app"); err != nil {
		t.Fatal(err)
	}
	if has, _ := h.svc.HasConsent(ctx, "u-alice", "app", []string{"openid"}); has {
		t.Fatal("consent survives RevokeConsent")
	}
}

func TestConsentDeny(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	req, csrf, _ := b.consentPage("app", "App", []string{"openid"})
	wantRedirect(t, b.decide(req, csrf, "deny"), testReturnTo+"&"+ConsentDeniedParam+"=denied")
	if has, _ := h.svc.HasConsent(context.Background(), "u-alice", "app", []string{"openid"}); has {
		t.Fatal("denial recorded as consent")
	}
}

func TestConsentRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	tests := []struct {
		name string
		run  func(t *testing.T, b *browser) result
		want int
	}{
		{name: "fail/wrong-token", want: http.StatusForbidden, run: func(t *testing.T, b *browser) result {
			req, _, _ := b.consentPage("app", "App", []string{"openid"})
			return b.decide(req, randomID(), "approve")
		}},
		{name: "fail/missing-token", want: http.StatusForbidden, run: func(t *testing.T, b *browser) result {
			req, _, _ := b.consentPage("app", "App", []string{"openid"})
			return b.decide(req, "", "approve")
		}},
		{name: "fail/cross-origin", want: http.StatusForbidden, run: func(t *testing.T, b *browser) result {
			req, csrf, _ := b.consentPage("app", "App", []string{"openid"})
			return b.decide(req, csrf, "approve", "Origin", "https://evil.example")
		}},
		{name: "fail/forged-request", want: http.StatusBadRequest, run: func(t *testing.T, b *browser) result {
			_, csrf, _ := b.consentPage("app", "App", []string{"openid"})
			return b.decide(randomID(), csrf, "approve")
		}},
		{name: "fail/unknown-action", want: http.StatusBadRequest, run: func(t *testing.T, b *browser) result {
			req, csrf, _ := b.consentPage("app", "App", []string{"openid"})
			return b.decide(req, csrf, "maybe")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := h.browser()
			wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
			wantStatus(t, tt.run(t, b), tt.want)
			if has, _ := h.svc.HasConsent(context.Background(), "u-alice", "app", nil); has {
				t.Fatal("consent recorded")
			}
		})
	}
}

func TestConsentNeedsSessionAndFreshRequest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil)
	u, err := h.svc.ConsentURL(ctx, "u-alice", testReturnTo, "app", "App", []string{"openid"})
	if err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	wantRedirect(t, b.get(u), h.svc.LoginURL(testReturnTo, "", ""))
	wantStatus(t, b.get("/consent?request=junk"), http.StatusBadRequest)

	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	h.clock.Advance(consentRequestTTL + time.Second)
	wantStatus(t, b.get(u), http.StatusBadRequest)

	if _, err := h.svc.ConsentURL(ctx, "u-alice", "https://evil.example/", "app", "App", nil); !errors.Is(err, ErrInvalidReturnTo) {
		t.Fatalf("ConsentURL with a foreign return_to: %v", err)
	}
}

// TestConsentQuestionsBounded: a user's outstanding consent questions are bounded (each holds up to
// ~8 KB for 15 minutes, and a signed-in user can ask for them as fast as they like): beyond
// maxConsentQuestions the oldest are dropped (their pages answer 400), the newest stay usable, other
// users' questions are untouched, and expired ones leave the index.
func TestConsentQuestionsBounded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := newHarness(t, nil)
	ask := func(subject string) string {
		t.Helper()
		u, err := h.svc.ConsentURL(ctx, subject, testReturnTo, "app", "App", []string{"openid"})
		if err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Millisecond)
		return u
	}
	daves := ask("u-dave")
	var alices []string
	for range 3 * maxConsentQuestions {
		alices = append(alices, ask("u-alice"))
	}
	if n := h.store.countRecords(kindConsentRequest); n != maxConsentQuestions+1 {
		t.Fatalf("%d consent questions stored, want alice's %d newest and dave's one", n, maxConsentQuestions)
	}
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	wantStatus(t, b.get(alices[0]), http.StatusBadRequest)
	wantStatus(t, b.get(alices[len(alices)-1]), http.StatusOK)
	d := h.browser()
	wantRedirect(t, d.login("dave", "correct horse"), testReturnTo)
	wantStatus(t, d.get(daves), http.StatusOK)

	h.clock.Advance(consentRequestTTL + time.Second)
	ask("u-alice")
	if m, _ := h.store.IndexMembers(ctx, kindConsentQuestions, questionsID("u-alice")); len(m) != 1 {
		t.Fatalf("%d questions indexed after the others expired, want 1", len(m))
	}
}
