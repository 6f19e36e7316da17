package httpx

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestJSONFallback: under the prefixes, unmatched requests get JSON 404/405 (with Allow) and a
// non-canonical path gets 404, never a redirect; matched requests get their path values; other
// paths keep ServeMux's answers.
func TestJSONFallback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/things/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "stopped "+r.PathValue("id"))
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "page") })
	h := JSONFallback(mux, "/api/")
	tests := []struct {
		name, method, path string
		status             int
		code, body, allow  string
	}{
		{name: "ok/matched", method: "POST", path: "/api/v1/things/t1/stop", status: 200, body: "stopped t1"},
		{name: "fail/unknown", method: "POST", path: "/api/v1/nope", status: 404, code: "not_found"},
		{name: "fail/method", method: "GET", path: "/api/v1/things/t1/stop", status: 405, code: "method_not_allowed", allow: "POST"},
		{name: "fail/empty-segment", method: "POST", path: "/api/v1/things//stop", status: 404, code: "not_found"},
		{name: "fail/dot-dot", method: "POST", path: "/api/v1/things/t1/../t2/stop", status: 404, code: "not_found"},
		{name: "fail/dot", method: "POST", path: "/api/v1/./things/t1/stop", status: 404, code: "not_found"},
		{name: "ok/other-prefix-unchanged", method: "GET", path: "/nope", status: 404, body: "404 page not found\n"},
		{name: "ok/other-prefix-redirect", method: "GET", path: "//page", status: http.StatusTemporaryRedirect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "http://actas.test/", nil)
			req.URL.Path = tt.path // unescaped as given, as a raw request line would carry it
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tt.status, rec.Body)
			}
			if tt.body != "" && rec.Body.String() != tt.body {
				t.Fatalf("body %q, want %q", rec.Body, tt.body)
			}
			if tt.code == "" {
				return
			}
			var eb ErrorBody
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type %q", ct)
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil || eb.Error != tt.code || eb.ErrorDescription == "" {
				t.Fatalf("body %s (%v), want error %q with a description", rec.Body, err, tt.code)
			}
			if got := rec.Header().Get("Allow"); got != tt.allow {
				t.Fatalf("Allow %q, want %q", got, tt.allow)
			}
			if tt.allow != "" && !strings.Contains(eb.ErrorDescription, tt.allow) {
				t.Fatalf("description %q does not name the allowed method", eb.ErrorDescription)
			}
		})
	}
}
