package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/storage/redistest"
)

// testServer is a real actas process in-process: the wired app behind a real listener on
// loopback, so tests speak HTTP to it exactly as a client would.
type testServer struct {
	URL string
	app *app
}

// backends lists the storage backends every end-to-end test runs on.
var backends = []string{config.BackendMemory, config.BackendRedis}

// startServer starts actas with the dev configuration on backend; mutate may adjust the config.
func startServer(t *testing.T, backend string, mutate func(*config.Config)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Dev()
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.Server.Public.Addr = ln.Addr().String()
	cfg.Storage.Backend = backend
	if backend == config.BackendRedis {
		o := redistest.Options(t)
		cfg.Storage.Redis.URL = o.URL
		cfg.Storage.Redis.KeyPrefix = o.KeyPrefix
		cfg.Storage.Timeout = o.Timeout // the test helper's, with room for a loaded CI machine
	}
	for i := range cfg.Clients { // nobody listens at the demo's back-channel receiver in tests
		cfg.Clients[i].BackchannelLogoutURI = ""
	}
	if mutate != nil {
		mutate(cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("newApp: %v", err)
	}
	srv := &http.Server{Handler: a.public, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		a.Close()
	})
	return &testServer{URL: cfg.Issuer, app: a}
}

type tWriter struct{ t *testing.T }

func (w *tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// browser is an HTTP client with a cookie jar that fills in and posts the server's HTML forms,
// standing in for a person at a browser. It does not follow redirects to hosts other than actas,
// so a test can read the authorization response sent to the client's redirect URI.
type browser struct {
	t    *testing.T
	c    *http.Client
	base string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, base: base}
	b.c = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), base) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

var (
	formRe  = regexp.MustCompile(`(?s)<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>`)
	inputRe = regexp.MustCompile(`<input[^>]*>`)
	attrRe  = regexp.MustCompile(`(\w+)="([^"]*)"`)
)

// page is a fetched HTML page.
type page struct {
	resp *http.Response
	body string
}

func (b *browser) get(u string) page {
	b.t.Helper()
	resp, err := b.c.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return b.read(resp)
}

func (b *browser) read(resp *http.Response) page {
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{resp: resp, body: string(body)}
}

// submit fills the page's first form with fields (over its hidden inputs) and posts it.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	m := formRe.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on page (status %d): %s", p.resp.StatusCode, truncateForLog(p.body))
	}
	action, err := p.resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		b.t.Fatal(err)
	}
	vals := url.Values{}
	for _, in := range inputRe.FindAllString(m[2], -1) {
		attrs := map[string]string{}
		for _, a := range attrRe.FindAllStringSubmatch(in, -1) {
			attrs[a[1]] = html.UnescapeString(a[2])
		}
		if attrs["name"] != "" && attrs["type"] == "hidden" {
			vals.Set(attrs["name"], attrs["value"])
		}
	}
	for k, v := range fields {
		vals.Set(k, v)
	}
	req, _ := http.NewRequest(http.MethodPost, action.String(), strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", action, err)
	}
	return b.read(resp)
}

func truncateForLog(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}

// demoTOTP returns the current code of a demo user's TOTP secret.
func demoTOTP(t *testing.T, username string) string {
	for _, u := range config.DemoUsers() {
		if u.Username == username {
			code, err := totp.GenerateCode(u.TOTPSecret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return code
		}
	}
	t.Fatalf("no demo user %q", username)
	return ""
}

// login drives the login pages from an authorization URL to the redirect to the client: password,
// TOTP when the user has one, and consent when asked. It returns the final redirect Location.
func (b *browser) login(authURL, username string) (*url.URL, error) {
	b.t.Helper()
	return b.loginAs(authURL, username, username)
}

// loginAs is login for an account whose password and TOTP secret are those of demo user cred.
func (b *browser) loginAs(authURL, username, cred string) (*url.URL, error) {
	b.t.Helper()
	p := b.get(authURL)
	for range 6 {
		if p.resp.StatusCode == http.StatusSeeOther || p.resp.StatusCode == http.StatusFound {
			loc, err := p.resp.Location()
			if err != nil {
				return nil, err
			}
			return loc, nil
		}
		if p.resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("status %d at %s: %s", p.resp.StatusCode, p.resp.Request.URL.Path, truncateForLog(p.body))
		}
		switch path := p.resp.Request.URL.Path; {
		case strings.HasSuffix(path, "/login"):
			p = b.submit(p, map[string]string{"username": username, "password": cred + "-demo-pass"})
		case strings.HasSuffix(path, "/login/otp"):
			p = b.submit(p, map[string]string{"code": demoTOTP(b.t, cred)})
		case strings.HasSuffix(path, "/consent"):
			p = b.submit(p, map[string]string{"action": "approve"})
		default:
			return nil, fmt.Errorf("unexpected page %s", path)
		}
	}
	return nil, fmt.Errorf("too many steps; last page %s %d: %s", p.resp.Request.URL, p.resp.StatusCode, truncateForLog(p.body))
}

func base64URLDecode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
