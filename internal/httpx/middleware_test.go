package httpx

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/actas-dev/actas/internal/logging"
)

func TestRequestID(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 65)
	tests := []struct {
		name    string
		inbound string
		keep    bool
	}{
		{name: "ok/generated-when-absent"},
		{name: "ok/kept-uuid", inbound: "0b7e3c2a-5f0e-4c1a-9d7e-3f6b2a1c9e80", keep: true},
		{name: "ok/kept-64-chars", inbound: strings.Repeat("Z", 64), keep: true},
		{name: "ok/kept-dots-underscores", inbound: "lb.a_b-1", keep: true},
		{name: "fail/too-long", inbound: long},
		{name: "fail/space", inbound: "a b"},
		{name: "fail/log-injection", inbound: "abc\",\"level\":\"ERROR"},
		{name: "fail/non-ascii", inbound: "αβγ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var seen string
			h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = logging.RequestID(r.Context())
			}), WrapOptions{})
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.inbound != "" {
				req.Header.Set(HeaderRequestID, tc.inbound)
			}
			rr := httptest.NewRecorder()
			h.ServeHTTP(rr, req)
			got := rr.Header().Get(HeaderRequestID)
			if got == "" || got != seen {
				t.Fatalf("header %q, context %q", got, seen)
			}
			if tc.keep != (got == tc.inbound) {
				t.Fatalf("inbound %q, id %q, want kept = %v", tc.inbound, got, tc.keep)
			}
			if !tc.keep && (len(got) != 26 || !validRequestID(got)) {
				t.Fatalf("generated id %q is not 26 base32 characters", got)
			}
		})
	}
}

func TestRequestIDUnique(t *testing.T) {
	t.Parallel()
	h := Wrap(http.NotFoundHandler(), WrapOptions{})
	seen := map[string]bool{}
	for range 100 {
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
		id := rr.Header().Get(HeaderRequestID)
		if seen[id] {
			t.Fatalf("request id %q repeated", id)
		}
		seen[id] = true
	}
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	defaults := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "frame-ancestors 'none'",
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    map[string]string
	}{
		{
			name:    "ok/implicit-200",
			handler: func(http.ResponseWriter, *http.Request) {},
			want:    defaults,
		},
		{
			name:    "ok/error-page",
			handler: func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			want:    defaults,
		},
		{
			name: "ok/handler-own-csp-kept",
			handler: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Add("Content-Security-Policy", "default-src 'self'; frame-ancestors 'self'")
				w.Header().Set("X-Frame-Options", "SAMEORIGIN")
				_, _ = io.WriteString(w, "<html></html>")
			},
			want: map[string]string{
				"Content-Security-Policy": "default-src 'self'; frame-ancestors 'self'",
				"X-Frame-Options":         "SAMEORIGIN",
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rr := httptest.NewRecorder()
			Wrap(tc.handler, WrapOptions{}).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/", nil))
			for k, v := range tc.want {
				if got := rr.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s = %q, want [%q]", k, got, v)
				}
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	const limit = 16
	tests := []struct {
		name     string
		body     string
		handler  http.HandlerFunc
		status   int
		wantBody string
	}{
		{
			name: "ok/under-limit",
			body: strings.Repeat("x", limit),
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					WriteError(w, 400, "invalid_request", "")
					return
				}
				WriteJSON(w, 200, map[string]int{"len": len(b)})
			},
			status:   200,
			wantBody: `{"len":16}`,
		},
		{
			name: "fail/handler-uses-helper",
			body: strings.Repeat("x", limit+1),
			handler: func(w http.ResponseWriter, r *http.Request) {
				if _, err := io.ReadAll(r.Body); IsTooLarge(err) {
					WriteTooLarge(w)
					return
				}
				w.WriteHeader(200)
			},
			status:   413,
			wantBody: `{"error":"invalid_request","error_description":"The request body is too large."}`,
		},
		{
			name: "fail/parse-form-then-other-answer-replaced",
			body: "grant_type=" + strings.Repeat("x", 100),
			handler: func(w http.ResponseWriter, r *http.Request) {
				if err := r.ParseForm(); err != nil {
					w.Header().Set("Content-Length", "999")
					WriteError(w, 400, "invalid_request", "could not parse: "+err.Error())
					return
				}
				w.WriteHeader(200)
			},
			status:   413,
			wantBody: `{"error":"invalid_request","error_description":"The request body is too large."}`,
		},
		{
			name:     "ok/body-not-read",
			body:     strings.Repeat("x", 100),
			handler:  func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fine") },
			status:   200,
			wantBody: "fine",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(Wrap(tc.handler, WrapOptions{MaxBodyBytes: limit}))
			defer srv.Close()
			resp, err := http.Post(srv.URL, "application/x-www-form-urlencoded", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || strings.TrimSpace(string(b)) != tc.wantBody {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, b, tc.status, tc.wantBody)
			}
			if resp.Header.Get(HeaderRequestID) == "" || resp.Header.Get("X-Frame-Options") != "DENY" {
				t.Fatalf("baseline headers missing: %v", resp.Header)
			}
		})
	}
}

func TestPanicRecovered(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boom", func(http.ResponseWriter, *http.Request) {
		panic("secret detail that must not reach the client")
	})
	mux.HandleFunc("GET /half", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		panic("after the header")
	})
	mux.HandleFunc("GET /ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	m := NewMetrics("test", "")
	srv := httptest.NewServer(Wrap(mux, WrapOptions{Logger: log, Metrics: m}))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/boom")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || strings.TrimSpace(string(b)) != `{"error":"server_error"}` {
		t.Fatalf("panic answer: %d %q", resp.StatusCode, b)
	}
	id := resp.Header.Get(HeaderRequestID)

	// Started answer: the connection is aborted, the client sees an error, not a short "success".
	resp, err = http.Get(srv.URL + "/half")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Fatal("a response cut by a panic read as complete")
	}

	// The server keeps serving.
	resp, err = http.Get(srv.URL + "/ok")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "ok" {
		t.Fatalf("after panic: %d %q", resp.StatusCode, b)
	}

	var panicLine map[string]any
	eventually(t, "panic logged", func() bool {
		for _, l := range logs.lines(t) {
			if l["msg"] == "panic serving request" && l[logging.KeyRequestID] == id {
				panicLine = l
				return true
			}
		}
		return false
	})
	if !strings.Contains(panicLine["panic"].(string), "secret detail") {
		t.Errorf("panic value not logged: %v", panicLine)
	}
	if got := series(t, m, "actas_http_requests_total", map[string]string{"route": "/boom", "code": "500"}); len(got) != 1 {
		t.Errorf("500 not counted for /boom: %v", got)
	}
}

func TestFlushAndHijackPassThrough(t *testing.T) {
	t.Parallel()
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
		_ = rw.Flush()
	}), WrapOptions{})
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(bufio.NewReader(resp.Body))
	if string(b) != "hi" {
		t.Fatalf("hijacked body %q", b)
	}
}
