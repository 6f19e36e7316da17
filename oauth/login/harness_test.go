package login

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/actas-dev/actas/storage"
)

// testReturnTo is the authorization request that a login resumes in these tests.
const testReturnTo = "/oauth2/auth?client_id=app&response_type=code&scope=openid+email&state=xyz"

var testPasswordHash = sync.OnceValue(func() string {
	h, err := hashPassword("correct horse", fastArgon)
	if err != nil {
		panic(err)
	}
	return h
})

// harness is a TLS test server with the login routes, a fake store with users, a fake clock, and a
// /probe endpoint standing in for the provider (it calls Current and EndLoginSession).
type harness struct {
	t     *testing.T
	clock *fakeClock
	store *fakeStore
	svc   *Service
	srv   *httptest.Server

	mu    sync.Mutex
	ended []string // "subject sessionID" per hook call
}

func newHarness(t *testing.T, mod func(*Options)) *harness {
	t.Helper()
	clock := newFakeClock()
	store := newFakeStore(clock)
	mux := http.NewServeMux()
	srv := httptest.NewUnstartedServer(mux)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	h := &harness{t: t, clock: clock, store: store, srv: srv}
	o := Options{
		Store: store, Issuer: srv.URL, Now: clock.Now,
		OnLoginSessionEnded: []func(context.Context, string, string){h.recordEnded},
	}
	if mod != nil {
		mod(&o)
	}
	svc, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	svc.Routes(mux)
	mux.HandleFunc("GET /probe", func(w http.ResponseWriter, r *http.Request) {
		ls, err := svc.Current(r)
		switch {
		case errors.Is(err, ErrNoSession):
			http.Error(w, "no session", http.StatusUnauthorized)
		case err != nil:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		default:
			_ = json.NewEncoder(w).Encode(ls)
		}
	})
	mux.HandleFunc("POST /probe/logout", func(w http.ResponseWriter, r *http.Request) {
		if err := svc.EndLoginSession(r.Context(), w, r); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	hash := testPasswordHash()
	for _, u := range []*storage.User{
		{ID: "u-alice", Username: "alice", Name: "Alice Doe", PasswordHash: hash},
		{ID: "u-dave", Username: "dave", PasswordHash: hash},
		{ID: "u-bob", Username: "bob", PasswordHash: hash, TOTPSecret: testTOTPSecret},
		{ID: "u-carol", Username: "carol", PasswordHash: hash, Disabled: true},
	} {
		store.addUser(u)
	}
	return h
}

func (h *harness) recordEnded(_ context.Context, subject, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ended = append(h.ended, subject+" "+id)
}

func (h *harness) endedSessions() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ended...)
}

// browser is an HTTP client with its own cookie jar that does not follow redirects.
type browser struct {
	t *testing.T
	h *harness
	c *http.Client
}

type result struct {
	status int
	header http.Header
	body   string
}

func (h *harness) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	return &browser{t: h.t, h: h, c: &http.Client{
		Transport:     h.srv.Client().Transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) do(req *http.Request) result {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(path string) result {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.h.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

// post sends a form; headers are name, value pairs.
func (b *browser) post(path string, form url.Values, headers ...string) result {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return b.do(req)
}

// cookie returns the jar's value of the named cookie for the server ("" when absent).
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.h.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// session returns the login session the probe sees, or nil with the probe's status.
func (b *browser) session() (*storage.LoginSession, int) {
	b.t.Helper()
	r := b.get("/probe")
	if r.status != http.StatusOK {
		return nil, r.status
	}
	var ls storage.LoginSession
	if err := json.Unmarshal([]byte(r.body), &ls); err != nil {
		b.t.Fatal(err)
	}
	return &ls, r.status
}

// loginPage opens the login form and returns its CSRF token.
func (b *browser) loginPage(returnTo string) string {
	b.t.Helper()
	r := b.get("/login?return_to=" + url.QueryEscape(returnTo))
	if r.status != http.StatusOK {
		b.t.Fatalf("GET /login: %d %s", r.status, r.body)
	}
	return field(b.t, r.body, "csrf")
}

// login submits username and password through the real form.
func (b *browser) login(username, password string) result {
	b.t.Helper()
	csrf := b.loginPage(testReturnTo)
	return b.post("/login", url.Values{
		"csrf": {csrf}, "return_to": {testReturnTo}, "username": {username}, "password": {password},
	})
}

var fieldRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// field returns the value of a hidden form field of a page.
func field(t *testing.T, body, name string) string {
	t.Helper()
	for _, m := range fieldRE.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("no hidden field %q in page:\n%s", name, body)
	return ""
}

// errorText returns the page's alert paragraph ("" when none).
func errorText(body string) string {
	_, rest, ok := strings.Cut(body, `role="alert">`)
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, "</p>")
	return html.UnescapeString(msg)
}

func wantStatus(t *testing.T, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
}

func wantRedirect(t *testing.T, r result, location string) {
	t.Helper()
	wantStatus(t, r, http.StatusSeeOther)
	if got := r.header.Get("Location"); got != location {
		t.Fatalf("Location %q, want %q", got, location)
	}
}

func httptestRecorder(h http.Handler, method, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}
