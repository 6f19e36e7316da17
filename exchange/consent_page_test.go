package exchange

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

// page fetches or posts the account page as the browser holding cookie.
func (c *consentEnv) page(method, cookie string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	c.t.Helper()
	var req *http.Request
	if method == http.MethodPost {
		req = httptest.NewRequest(method, "/account/access", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", c.issuer)
	} else {
		u := "/account/access"
		if form != nil {
			u += "?" + form.Encode()
		}
		req = httptest.NewRequest(method, u, nil)
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: "test_session", Value: cookie})
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	c.mux.ServeHTTP(rec, req)
	return rec
}

func TestAccessPage(t *testing.T) {
	t.Parallel()
	c := newConsentEnv(t)
	bobCookie, bobCSRF := c.login.login("u-bob")
	aliceCookie, aliceCSRF := c.login.login("u-alice")
	sam := c.agentAPIToken("u-sam")
	form := func(csrf, action, id string) url.Values {
		return url.Values{"csrf": {csrf}, "action": {action}, "id": {id}}
	}

	t.Run("ok/login-first", func(t *testing.T) {
		rec := c.page(http.MethodGet, "", nil, nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?return_to=%2Faccount%2Faccess" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		rec = c.page(http.MethodPost, "", form("x", "approve", consentNewID()), nil)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("post without session: %d", rec.Code)
		}
	})

	id := c.ask(sam, "u-bob")
	t.Run("ok/shows-pending", func(t *testing.T) {
		rec := c.page(http.MethodGet, bobCookie, nil, nil)
		body := rec.Body.String()
		h := rec.Header()
		if rec.Code != 200 || h.Get("X-Frame-Options") != "DENY" || !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v", rec.Code, h)
		}
		for _, want := range []string{`data-request-id="` + id + `"`, "<strong>sam</strong>", "customer called about order 42",
			"SUP-42", " UTC</time>", "(in 1 day)", "(just now)", `name="csrf" value="` + bobCSRF + `"`, "up to 1 hour", "Signed in as <strong>bob</strong>"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(strings.ToLower(body), "<script") {
			t.Error("the page uses JavaScript")
		}
		if alice := c.page(http.MethodGet, aliceCookie, nil, nil).Body.String(); strings.Contains(alice, id) {
			t.Error("alice sees bob's request")
		}
	})

	t.Run("fail/csrf", func(t *testing.T) {
		for name, f := range map[string]url.Values{
			"missing": {"action": {"approve"}, "id": {id}},
			"wrong":   form(aliceCSRF, "approve", id),
		} {
			if rec := c.page(http.MethodPost, bobCookie, f, nil); rec.Code != http.StatusForbidden {
				t.Errorf("%s token: %d", name, rec.Code)
			}
		}
		rec := c.page(http.MethodPost, bobCookie, form(bobCSRF, "approve", id),
			map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
		if rec.Code != http.StatusForbidden || rec.Header().Get("X-Frame-Options") != "DENY" {
			t.Errorf("cross-origin post: %d", rec.Code)
		}
		if c.state(id).State != ConsentPending {
			t.Fatal("a refused form changed the request")
		}
	})

	t.Run("fail/other-users-request", func(t *testing.T) {
		rec := c.page(http.MethodPost, aliceCookie, form(aliceCSRF, "approve", id), nil)
		if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "no longer exists") {
			t.Fatalf("%d", rec.Code)
		}
	})

	t.Run("ok/approve", func(t *testing.T) {
		rec := c.page(http.MethodPost, bobCookie, form(bobCSRF, "approve", id), nil)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/account/access?done=approved" {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		if c.state(id).State != ConsentApproved {
			t.Fatal("not approved")
		}
		body := c.page(http.MethodGet, bobCookie, url.Values{"done": {"approved"}}, nil).Body.String()
		if !strings.Contains(body, "Access approved.") || !strings.Contains(body, `value="revoke"`) || !strings.Contains(body, "(in 1 hour)") {
			t.Fatalf("page after approval: %s", body)
		}
		rec = c.page(http.MethodPost, bobCookie, form(bobCSRF, "decline", id), nil)
		if rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "already approved, not used yet, so it cannot be declined") {
			t.Fatalf("decline after approve: %d %s", rec.Code, rec.Body.String())
		}
	})

	t.Run("ok/end-representation", func(t *testing.T) {
		r := c.exchange(impForm(c.agentToken("u-sam"), "u-bob"))
		wantOK(t, r)
		sid := claimsOf(t, r.str("access_token"))["sid"].(string)
		body := c.page(http.MethodGet, bobCookie, nil, nil).Body.String()
		if !strings.Contains(body, `data-representation-id="`+sid+`"`) || !strings.Contains(body, "Sam Support") && !strings.Contains(body, "sam") {
			t.Fatalf("representation not shown: %s", body)
		}
		if rec := c.page(http.MethodPost, aliceCookie, form(aliceCSRF, "end", sid), nil); rec.Code != http.StatusNotFound {
			t.Fatalf("alice ends bob's representation: %d", rec.Code)
		}
		rec := c.page(http.MethodPost, bobCookie, form(bobCSRF, "end", sid), nil)
		if rec.Code != http.StatusSeeOther || !strings.HasSuffix(rec.Header().Get("Location"), "done=ended") {
			t.Fatalf("%d %q", rec.Code, rec.Header().Get("Location"))
		}
		if !slices.Contains(c.reps.stops(), sid+" u-bob "+EndStoppedByTarget) {
			t.Fatalf("stops %v", c.reps.stops())
		}
	})

	t.Run("ok/decline-and-past", func(t *testing.T) {
		id2 := c.ask(c.agentAPIToken("u-ada"), "u-bob")
		rec := c.page(http.MethodPost, bobCookie, form(bobCSRF, "decline", id2), nil)
		if rec.Code != http.StatusSeeOther || c.state(id2).State != ConsentDeclined {
			t.Fatalf("%d %s", rec.Code, c.state(id2).State)
		}
		body := c.page(http.MethodGet, bobCookie, nil, nil).Body.String()
		if !strings.Contains(body, `<li data-request-id="`+id2+`">`) || !strings.Contains(body, "declined") {
			t.Fatalf("past requests: %s", body)
		}
	})

	t.Run("fail/unknown-action", func(t *testing.T) {
		if rec := c.page(http.MethodPost, bobCookie, form(bobCSRF, "delete", id), nil); rec.Code != http.StatusBadRequest {
			t.Fatalf("%d", rec.Code)
		}
	})

	t.Run("fail/storage-down", func(t *testing.T) {
		c.login.mu.Lock()
		c.login.fail = errors.Join(storage.ErrUnavailable, errors.New("test outage"))
		c.login.mu.Unlock()
		defer func() { c.login.mu.Lock(); c.login.fail = nil; c.login.mu.Unlock() }()
		if rec := c.page(http.MethodGet, bobCookie, nil, nil); rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("%d", rec.Code)
		}
	})
}

func TestRelativeTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		d    time.Duration
		want string
	}{
		{"ok/in-25-minutes", 25 * time.Minute, "in 25 minutes"},
		{"ok/almost-25-minutes", 25*time.Minute - 200*time.Millisecond, "in 25 minutes"},
		{"ok/ago", -3 * time.Hour, "3 hours ago"},
		{"ok/just-now", -10 * time.Second, "just now"},
		{"ok/soon", 20 * time.Second, "in less than a minute"},
		{"ok/minute", time.Minute, "in 1 minute"},
		{"ok/hour", time.Hour, "in 1 hour"},
		{"ok/day", 24 * time.Hour, "in 1 day"},
		{"ok/days", -72 * time.Hour, "3 days ago"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := relativeTime(now.Add(tc.d), now); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	for d, want := range map[time.Duration]string{time.Hour: "1 hour", 90 * time.Minute: "1 hour 30 minutes",
		20 * time.Minute: "20 minutes", time.Minute: "1 minute", 2 * time.Hour: "2 hours"} {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
	if v := viewTime(now, now); v.UTC != "2025-03-01 12:00 UTC" || v.ISO != "2025-03-01T12:00:00Z" {
		t.Fatalf("%+v", v)
	}
}
