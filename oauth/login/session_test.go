package login

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actas-dev/actas/storage"
)

func TestIdleTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.IdleTimeout, o.AbsoluteTimeout = 10*time.Minute, time.Hour })
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	for i := 0; i < 3; i++ { // each use moves the idle deadline
		h.clock.Advance(9 * time.Minute)
		if ls, status := b.session(); ls == nil {
			t.Fatalf("use %d within the idle timeout: %d", i+1, status)
		} else if !ls.LastSeenAt.Equal(h.clock.Now()) {
			t.Fatalf("LastSeenAt %v not touched to %v", ls.LastSeenAt, h.clock.Now())
		}
	}
	h.clock.Advance(10 * time.Minute)
	if ls, status := b.session(); ls != nil || status != http.StatusUnauthorized {
		t.Fatalf("after the idle timeout: %+v %d", ls, status)
	}
	// The login page shows the form again instead of skipping it.
	wantStatus(t, b.get("/login?return_to="+url.QueryEscape(testReturnTo)), http.StatusOK)
}

func TestAbsoluteTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.IdleTimeout, o.AbsoluteTimeout = 20*time.Minute, time.Hour })
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	first, _ := b.session()
	for i := 0; i < 5; i++ {
		h.clock.Advance(11 * time.Minute)
		if ls, _ := b.session(); ls == nil {
			t.Fatalf("expired after %v of steady use", time.Duration(i+1)*11*time.Minute)
		}
	}
	h.clock.Advance(5 * time.Minute) // 60 minutes since login; last use 5 minutes ago
	if ls, status := b.session(); ls != nil || status != http.StatusUnauthorized {
		t.Fatalf("after the absolute timeout: %+v %d", ls, status)
	}
	if !first.ExpiresAt.Equal(first.CreatedAt.Add(time.Hour)) {
		t.Fatalf("ExpiresAt %v, CreatedAt %v", first.ExpiresAt, first.CreatedAt)
	}
}

// TestExpiredSessionInStorage covers a session still in storage past ExpiresAt (a backend whose TTL
// lags): Current refuses it by ExpiresAt, deletes it and reports it ended.
func TestExpiredSessionInStorage(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	now := h.clock.Now()
	ls := &storage.LoginSession{
		ID: randomID(), Subject: "u-alice", AuthTime: now.Add(-13 * time.Hour), CSRFToken: randomID(),
		CreatedAt: now.Add(-13 * time.Hour), LastSeenAt: now.Add(-time.Minute), ExpiresAt: now.Add(-time.Hour),
	}
	if err := h.store.CreateLoginSession(context.Background(), ls, time.Hour); err != nil {
		t.Fatal(err)
	}
	b := h.browser()
	u, _ := url.Parse(h.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-actas_session", Value: ls.ID, Path: "/"}})
	if got, status := b.session(); got != nil || status != http.StatusUnauthorized {
		t.Fatalf("expired session accepted: %+v %d", got, status)
	}
	if _, err := h.store.GetLoginSession(context.Background(), ls.ID); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("expired session still stored: %v", err)
	}
	if got := h.endedSessions(); !slices.Equal(got, []string{"u-alice " + ls.ID}) {
		t.Fatalf("ended hooks %v", got)
	}
}

func TestEndLoginSession(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	ls, _ := b.session()
	r := b.post("/probe/logout", nil)
	wantStatus(t, r, http.StatusOK)
	if c := sessionCookie(t, r, "__Host-actas_session"); c.MaxAge >= 0 || c.Value != "" {
		t.Fatalf("cookie not cleared: %+v", c)
	}
	if got, _ := b.session(); got != nil {
		t.Fatal("session survives logout")
	}
	if got := h.endedSessions(); !slices.Equal(got, []string{"u-alice " + ls.ID}) {
		t.Fatalf("ended hooks %v", got)
	}
	// Logging out without a session is not an error and fires nothing.
	wantStatus(t, b.post("/probe/logout", nil), http.StatusOK)
	if n := len(h.endedSessions()); n != 1 {
		t.Fatalf("%d hook calls", n)
	}
}

func TestEndAllSessions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	var hookOrder []string
	h.svc.OnLoginSessionEnded(func(_ context.Context, subject, _ string) { hookOrder = append(hookOrder, subject) })
	a1, a2, d := h.browser(), h.browser(), h.browser()
	for _, b := range []*browser{a1, a2} {
		wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	}
	wantRedirect(t, d.login("dave", "correct horse"), testReturnTo)
	if err := h.svc.EndAllSessions(context.Background(), "u-alice"); err != nil {
		t.Fatal(err)
	}
	for i, b := range []*browser{a1, a2} {
		if ls, _ := b.session(); ls != nil {
			t.Fatalf("alice's session %d survives", i+1)
		}
	}
	if ls, _ := d.session(); ls == nil {
		t.Fatal("dave's session ended too")
	}
	if got := h.endedSessions(); len(got) != 2 || !strings.HasPrefix(got[0], "u-alice ") || !strings.HasPrefix(got[1], "u-alice ") {
		t.Fatalf("ended hooks %v", got)
	}
	if !slices.Equal(hookOrder, []string{"u-alice", "u-alice"}) {
		t.Fatalf("hook added later saw %v", hookOrder)
	}
}

func TestCurrentRejectsJunkCookie(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	u, _ := url.Parse(h.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "__Host-actas_session", Value: "not-an-id", Path: "/"}})
	h.store.unavailable.Store(true) // a junk cookie never reaches storage
	if ls, status := b.session(); ls != nil || status != http.StatusUnauthorized {
		t.Fatalf("junk cookie: %+v %d", ls, status)
	}
}

func TestInsecureCookies(t *testing.T) {
	t.Parallel()
	h := newHarness(t, func(o *Options) { o.InsecureCookies = true })
	r := h.browser().login("alice", "correct horse")
	wantRedirect(t, r, testReturnTo)
	if c := sessionCookie(t, r, "actas_session"); c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("dev cookie %+v", c)
	}
}

func TestNewOptions(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	store := newFakeStore(clock)
	tests := []struct {
		name string
		o    Options
		ok   bool
	}{
		{name: "ok/minimal", o: Options{Store: store, Issuer: "https://id.example"}, ok: true},
		{name: "ok/issuer-path", o: Options{Store: store, Issuer: "https://id.example/idp"}, ok: true},
		{name: "fail/no-store", o: Options{Issuer: "https://id.example"}},
		{name: "fail/relative-issuer", o: Options{Store: store, Issuer: "/idp"}},
		{name: "fail/issuer-query", o: Options{Store: store, Issuer: "https://id.example?x=1"}},
		{name: "fail/idle-over-absolute", o: Options{Store: store, Issuer: "https://id.example", IdleTimeout: 2 * time.Hour, AbsoluteTimeout: time.Hour}},
		{name: "fail/host-cookie-insecure", o: Options{Store: store, Issuer: "http://localhost", InsecureCookies: true, CookieName: "__Host-x"}},
		{name: "fail/bad-cookie-name", o: Options{Store: store, Issuer: "https://id.example", CookieName: "a b"}},
		{name: "fail/negative-limit", o: Options{Store: store, Issuer: "https://id.example", MaxAttemptsPerIP: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := New(tt.o)
			if (err == nil) != tt.ok {
				t.Fatalf("New: %v", err)
			}
		})
	}
}

// TestRecordClient: the clients recorded under a login session, with its sid, are named once to
// the "ended" hooks' caller (TakeClients) and then forgotten; recording under a session that has
// ended fails with ErrNoSession (the authorization must not go on); a store outage is reported.
func TestRecordClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	ls, _ := b.session()
	ctx := context.Background()
	for _, c := range []string{"spa", "console", "spa"} {
		if err := h.svc.RecordClient(ctx, ls, c); err != nil {
			t.Fatal(err)
		}
	}
	sid := SIDOf(ls)
	if sid != SID(ls.ID) || sid == ls.ID {
		t.Fatalf("sid %q of a fresh session", sid)
	}
	got, err := h.svc.TakeClients(ctx, ls.ID)
	if want := []storage.LoginClient{{ClientID: "spa", SID: sid}, {ClientID: "console", SID: sid}}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("TakeClients = %+v, %v; want %+v", got, err, want)
	}
	if got, err := h.svc.TakeClients(ctx, ls.ID); err != nil || len(got) != 0 {
		t.Fatalf("second TakeClients = %+v, %v; want none", got, err)
	}
	h.store.failOnly.Store("AddLoginClient", true)
	if err := h.svc.RecordClient(ctx, ls, "spa"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("RecordClient with the store down: %v", err)
	}
	h.store.failOnly.Store("LoginClients", true)
	if _, err := h.svc.TakeClients(ctx, ls.ID); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("TakeClients with the store down: %v", err)
	}
	h.store.failOnly.Delete("AddLoginClient")
	wantStatus(t, b.post("/probe/logout", nil), http.StatusOK)
	if err := h.svc.RecordClient(ctx, ls, "spa"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("RecordClient under an ended session: %v", err)
	}
}

// TestSignInAgainRenews: the same user signing in again in the same browser (a step-up) renews the
// login session: a new id and cookie, the same sid, the clients carried over, no "ended" hook. Another
// user signing in there ends the previous session (hooks) and gets a sid of their own.
func TestSignInAgainRenews(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	b := h.browser()
	ctx := context.Background()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	first, _ := b.session()
	if err := h.svc.RecordClient(ctx, first, "spa"); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	reLogin := func(user string) {
		t.Helper()
		r := b.get("/login?prompt=login&return_to=" + url.QueryEscape(testReturnTo))
		if r.status != http.StatusOK {
			t.Fatalf("GET /login?prompt=login: %d", r.status)
		}
		wantRedirect(t, b.post("/login", url.Values{"csrf": {field(t, r.body, "csrf")}, "return_to": {testReturnTo},
			"username": {user}, "password": {"correct horse"}}), testReturnTo)
	}
	reLogin("alice")
	second, _ := b.session()
	if second == nil || second.ID == first.ID {
		t.Fatalf("no new session id after signing in again: %+v", second)
	}
	if SIDOf(second) != SIDOf(first) {
		t.Fatalf("sid changed on renewal: %q → %q", SIDOf(first), SIDOf(second))
	}
	if n := len(h.endedSessions()); n != 0 {
		t.Fatalf("renewal fired %d ended hooks", n)
	}
	if ls, err := h.store.GetLoginSession(ctx, first.ID); err == nil {
		t.Fatalf("the renewed session is still there: %+v", ls)
	}
	if got, err := h.svc.TakeClients(ctx, second.ID); err != nil || !slices.Equal(got, []storage.LoginClient{{ClientID: "spa", SID: SIDOf(first)}}) {
		t.Fatalf("clients after renewal = %+v, %v", got, err)
	}
	if err := h.svc.RecordClient(ctx, first, "console"); !errors.Is(err, ErrNoSession) {
		t.Fatalf("RecordClient under the renewed-away session: %v", err)
	}

	reLogin("dave")
	third, _ := b.session()
	if third == nil || third.Subject != "u-dave" || SIDOf(third) == SIDOf(first) {
		t.Fatalf("another user's session: %+v", third)
	}
	if got := h.endedSessions(); !slices.Equal(got, []string{"u-alice " + second.ID}) {
		t.Fatalf("ended hooks %v, want alice's session", got)
	}
}

// TestSignInTwiceRenewsOnce: the browser submits the same sign-in twice (a double click, or two tabs
// stepping up) with the old session cookie. The first renews the session; the second joins that
// renewal instead of starting a session with a fresh sid and none of the old session's clients, so
// the browser's logout still tells the relying party that got an ID token under the old session.
func TestSignInTwiceRenewsOnce(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	ctx := context.Background()
	wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
	first, _ := b.session()
	if err := h.svc.RecordClient(ctx, first, "spa"); err != nil {
		t.Fatal(err)
	}
	r := b.get("/login?prompt=login&return_to=" + url.QueryEscape(testReturnTo))
	csrf := field(t, r.body, "csrf")
	// b2: the same browser's second submission, sent with the cookies as they were.
	b2 := b.clone()
	form := url.Values{"csrf": {csrf}, "return_to": {testReturnTo}, "username": {"alice"}, "password": {"correct horse"}}
	wantRedirect(t, b.post("/login", form), testReturnTo)
	wantRedirect(t, b2.post("/login", form), testReturnTo)
	ls1, _ := b.session()
	ls2, _ := b2.session() // the response that arrived last: its cookie is the browser's
	if ls1 == nil || ls2 == nil || ls1.ID != ls2.ID || SIDOf(ls1) != SIDOf(first) {
		t.Fatalf("two submissions of one sign-in: sessions %+v and %+v, want the one renewal of sid %s", ls1, ls2, SIDOf(first))
	}
	wantStatus(t, b2.post("/probe/logout", nil), http.StatusOK)
	got, _ := h.svc.TakeClients(ctx, ls2.ID)
	if !slices.ContainsFunc(got, func(c storage.LoginClient) bool { return c.ClientID == "spa" }) {
		t.Fatalf("the browser's logout does not name spa, which got an ID token under its original session (sid %s)", SIDOf(first))
	}
}

// TestSignInTwiceConcurrently: two submissions of one sign-in racing with the same old cookie end
// in one renewed session whichever sees what (one claims the renewal, the other joins it).
func TestSignInTwiceConcurrently(t *testing.T) {
	h := newHarness(t, nil)
	// The claim itself: of two sign-ins renewing one session, exactly one wins.
	prev := &storage.LoginSession{ID: "prev", Subject: "u-alice"}
	won1, err1 := h.svc.claimRenewal(context.Background(), prev, &storage.LoginSession{ID: "next-1"})
	won2, err2 := h.svc.claimRenewal(context.Background(), prev, &storage.LoginSession{ID: "next-2"})
	if err1 != nil || err2 != nil || !won1 || won2 {
		t.Fatalf("two claims of one renewal: %v %v, %v %v; want the first only", won1, err1, won2, err2)
	}
	for range 10 {
		b := h.browser()
		wantRedirect(t, b.login("alice", "correct horse"), testReturnTo)
		first, _ := b.session()
		r := b.get("/login?prompt=login&return_to=" + url.QueryEscape(testReturnTo))
		csrf := field(t, r.body, "csrf")
		b2 := b.clone() // the same browser's second submission, with the cookies as they were
		form := url.Values{"csrf": {csrf}, "return_to": {testReturnTo}, "username": {"alice"}, "password": {"correct horse"}}
		done := make(chan result, 2)
		for _, br := range []*browser{b, b2} {
			go func() { done <- br.post("/login", form) }()
		}
		for range 2 {
			if res := <-done; res.status != http.StatusSeeOther {
				t.Fatalf("a submission: %d %s", res.status, res.body)
			}
		}
		ls1, _ := b.session()
		ls2, _ := b2.session()
		if ls1 == nil || ls2 == nil || ls1.ID != ls2.ID || SIDOf(ls1) != SIDOf(first) {
			t.Fatalf("racing submissions: sessions %v and %v, want one renewal of sid %s", ls1, ls2, SIDOf(first))
		}
	}
}

// clone returns a browser with a copy of b's cookies (the same browser sending a second request
// with the cookies it had then).
func (b *browser) clone() *browser {
	b.t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(b.h.srv.URL)
	jar.SetCookies(u, b.c.Jar.Cookies(u))
	return &browser{t: b.t, h: b.h, c: &http.Client{Transport: b.c.Transport, Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}
