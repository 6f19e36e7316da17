package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/actas-dev/actas/config"
)

// TestUnknownRoutesAnswerJSON: under /api/ and /oauth2/ a path without a route, a method the
// route does not answer, or a path with an empty segment (a missing id) gets a JSON error, never
// ServeMux's text or a redirect to another resource; pages keep theirs.
func TestUnknownRoutesAnswerJSON(t *testing.T) {
	srv := startServer(t, config.BackendMemory, nil)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodPost, "/api/v1/representations//stop", http.StatusNotFound, "not_found", ""},
		{http.MethodPost, "/api/v1/nope", http.StatusNotFound, "not_found", ""},
		{http.MethodGet, "/api/v1/representations/r1/stop", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{http.MethodGet, "/oauth2/token", http.StatusMethodNotAllowed, "invalid_request", "POST"}, // its own answer
		{http.MethodGet, "/oauth2/nope", http.StatusNotFound, "not_found", ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(""))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]any
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || err != nil || body["error"] != tt.code || resp.Header.Get("Allow") != tt.allow {
			t.Errorf("%s %s: %d Allow %q %v (%v), want %d %s", tt.method, tt.path, resp.StatusCode,
				resp.Header.Get("Allow"), body, err, tt.status, tt.code)
		}
	}
	if code, body := get(t, srv.URL+"/no-such-page"); code != http.StatusNotFound || strings.HasPrefix(body, "{") {
		t.Errorf("a page outside the API: %d %q", code, body)
	}
}
