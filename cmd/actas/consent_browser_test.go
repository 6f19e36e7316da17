package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/exchange"
)

// envRequireBrowser, when "1", turns a missing Chromium into a failure (.ci/run sets it after
// installing the Debian package chromium).
const envRequireBrowser = "ACTAS_TEST_REQUIRE_BROWSER"

// chromiumPath finds a Chromium to drive, or skips (fails when a browser is required).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv(envRequireBrowser) == "1" {
		t.Fatalf("Chromium is required (%s=1) but none is on PATH (Debian: apt-get install -y chromium)", envRequireBrowser)
	}
	t.Skipf("Chromium is not installed (Debian: apt-get install -y chromium); set %s=1 to make this a failure", envRequireBrowser)
	return ""
}

// newHeadlessBrowser starts a headless Chromium for the test.
func newHeadlessBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-sync", true),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	return newTab(t, alloc)
}

// newTab opens a context on the browser (or starts it, for an allocator context) without a
// deadline: chromedp ties the target's life to the context of its first call.
func newTab(t *testing.T, parent context.Context, opts ...chromedp.ContextOption) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// browserDo runs steps in ctx with a deadline, failing the test with what was being done.
func browserDo(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
}

// browserText returns the visible text of the first element matching the CSS selector.
func browserText(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

// signInToAccessPage opens /account/access, is sent to the login page, signs in, and lands back
// on the account page.
func signInToAccessPage(t *testing.T, ctx context.Context, srv *testServer, user string) {
	t.Helper()
	browserDo(t, ctx, "sign in as "+user,
		chromedp.Navigate(srv.URL+"/account/access"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), user+"-demo-pass"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("main.card.wide")),
	)
	if h1 := browserText(t, ctx, "h1"); !strings.Contains(h1, "Support access") {
		t.Fatalf("after sign-in: heading %q", h1)
	}
}

// answerOnPage clicks approve or decline on the request's card and waits for the notice; it
// returns the card's text before the click and the notice.
func answerOnPage(t *testing.T, ctx context.Context, id, action string) string {
	t.Helper()
	card := `[data-request-id="` + id + `"]`
	browserDo(t, ctx, "find request "+id, chromedp.WaitVisible(chromedp.CSS(card)))
	text := browserText(t, ctx, card)
	browserDo(t, ctx, action+" request "+id,
		chromedp.Click(chromedp.CSS(card+` button[value="`+action+`"]`)),
		chromedp.WaitVisible(chromedp.CSS("#notice")),
	)
	return text + "\n" + browserText(t, ctx, "#notice")
}

// TestConsentBrowser drives the hosted page /account/access in a real headless Chromium: the
// customer signs in through the login page, approves one request and the agent's exchange gets
// past the consent check (and succeeds once representations are wired); another customer
// declines and the agent's exchange fails with consent_required.
func TestConsentBrowser(t *testing.T) {
	chromiumPath(t) // skip early without a browser
	srv := startServer(t, config.BackendMemory, withConsentForAcme)
	requireConsentWired(t, srv)
	browser := newHeadlessBrowser(t)
	console := newRP(t, srv, config.DemoConsoleClientID, config.DemoConsoleClientSecret,
		"http://127.0.0.1:5556/callback", oidc.ScopeOpenID, exchange.APIScope)
	sam, _ := console.codeFlow(t, newBrowser(t, srv.URL), "sam")
	ask := func(target string) string {
		status, body := askAccess(t, srv, sam.AccessToken, target)
		if status != http.StatusCreated {
			t.Fatalf("request for %s: %d %v", target, status, body)
		}
		return body["id"].(string)
	}
	aliceReq, bobReq := ask("u-alice"), ask("u-bob")

	t.Run("ok/approve-then-exchange", func(t *testing.T) {
		ctx := newTab(t, browser, chromedp.WithNewBrowserContext())
		signInToAccessPage(t, ctx, srv, "alice")
		got := answerOnPage(t, ctx, aliceReq, "approve")
		for _, want := range []string{"Sam Support (sam)", consentReason, consentTicket, " UTC", "(in 1 day)", "30 minutes", "Access approved."} {
			if !strings.Contains(got, want) {
				t.Errorf("page text lacks %q:\n%s", want, got)
			}
		}
		granted := browserText(t, ctx, `[data-request-id="`+aliceReq+`"]`)
		if !strings.Contains(granted, "approved") || !strings.Contains(granted, "(in 30 minutes)") {
			t.Errorf("granted card: %q", granted)
		}
		status, body := impersonate(t, srv, sam.AccessToken, "u-alice")
		if !wantPastConsent(t, status, body, aliceReq) {
			return
		}
		// Representations are wired: the customer sees the session and ends it; the token dies.
		tok := body["access_token"].(string)
		rep := `[data-representation-id="` + decodeJWT(t, tok).claims["sid"].(string) + `"]`
		browserDo(t, ctx, "see the representation",
			chromedp.Navigate(srv.URL+"/account/access"), chromedp.WaitVisible(chromedp.CSS(rep)))
		if txt := browserText(t, ctx, rep); !strings.Contains(txt, "Sam Support (sam)") {
			t.Errorf("representation card: %q", txt)
		}
		browserDo(t, ctx, "end the representation",
			chromedp.Click(chromedp.CSS(rep+` button[value="end"]`)), chromedp.WaitVisible(chromedp.CSS("#notice")))
		if in := introspect(t, srv, tok); in["active"] != false {
			t.Fatalf("the agent's token still works after the customer ended the session: %v", in)
		}
	})

	t.Run("ok/decline-then-exchange-fails", func(t *testing.T) {
		ctx := newTab(t, browser, chromedp.WithNewBrowserContext())
		signInToAccessPage(t, ctx, srv, "bob")
		if got := answerOnPage(t, ctx, bobReq, "decline"); !strings.Contains(got, "Request declined.") {
			t.Fatalf("after decline: %s", got)
		}
		past := browserText(t, ctx, `li[data-request-id="`+bobReq+`"]`)
		if !strings.Contains(past, "declined") {
			t.Fatalf("past entry %q", past)
		}
		status, body := impersonate(t, srv, sam.AccessToken, "u-bob")
		if status != http.StatusBadRequest || reasonOf(body) != exchange.CodeConsentRequired {
			t.Fatalf("impersonation after decline: %d %v", status, body)
		}
	})
}
