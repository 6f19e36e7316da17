package httpx

import (
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

func TestMetricsRouteTemplate(t *testing.T) {
	t.Parallel()
	m := NewMetrics("v1.2.3", "abc123")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{id}", func(w http.ResponseWriter, _ *http.Request) {})
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) })
	inner := http.NewServeMux()
	inner.HandleFunc("GET /api/items/{item}", func(http.ResponseWriter, *http.Request) {})
	mux.Handle("/api/", inner)
	h := Wrap(mux, WrapOptions{Metrics: m})

	for _, req := range []struct{ method, path string }{
		{"GET", "/users/alice"},
		{"GET", "/users/bob?access_token=x"},
		{"POST", "/oauth2/token"},
		{"GET", "/api/items/42"},
		{"GET", "/nope/a"},
		{"GET", "/nope/b"},
		{"DELETE", "/oauth2/token"}, // 405: no pattern matched
		{"BREW", "/users/carol"},    // odd method: label "other"
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(req.method, req.path, nil))
	}

	tests := []struct {
		name   string
		labels map[string]string
		count  float64
	}{
		{name: "ok/two-paths-one-series", labels: map[string]string{"route": "/users/{id}", "method": "GET", "code": "200"}, count: 2},
		{name: "ok/method-stripped", labels: map[string]string{"route": "/oauth2/token", "method": "POST", "code": "400"}, count: 1},
		{name: "ok/nested-mux-pattern", labels: map[string]string{"route": "/api/items/{item}", "method": "GET", "code": "200"}, count: 1},
		{name: "ok/unmatched", labels: map[string]string{"route": RouteUnmatched, "method": "GET", "code": "404"}, count: 2},
		{name: "ok/405-unmatched", labels: map[string]string{"route": RouteUnmatched, "method": "DELETE", "code": "405"}, count: 1},
		{name: "ok/other-method", labels: map[string]string{"method": "other"}, count: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := series(t, m, "actas_http_requests_total", tc.labels)
			if len(got) != 1 || got[0].GetCounter().GetValue() != tc.count {
				t.Fatalf("series %v: %v", tc.labels, got)
			}
		})
	}
	t.Run("ok/no-raw-path-label", func(t *testing.T) {
		t.Parallel()
		for _, mt := range series(t, m, "actas_http_requests_total", nil) {
			for _, lp := range mt.GetLabel() {
				if v := lp.GetValue(); strings.Contains(v, "alice") || strings.Contains(v, "/nope") || strings.Contains(v, "42") {
					t.Fatalf("raw path in label %s=%q", lp.GetName(), v)
				}
			}
		}
	})
	t.Run("ok/histogram", func(t *testing.T) {
		t.Parallel()
		got := series(t, m, "actas_http_request_duration_seconds", map[string]string{"route": "/users/{id}", "method": "GET"})
		if len(got) != 1 || got[0].GetHistogram().GetSampleCount() != 2 {
			t.Fatalf("histogram: %v", got)
		}
	})
}

func TestRouteLabel(t *testing.T) {
	t.Parallel()
	tests := []struct{ pattern, want string }{
		{"", RouteUnmatched},
		{"/", "/"},
		{"GET /healthz", "/healthz"},
		{"POST  /oauth2/token", "/oauth2/token"},
		{"example.com/x/{id}", "example.com/x/{id}"},
		{"GET example.com/x/", "example.com/x/"},
	}
	for _, tc := range tests {
		if got := routeLabel(tc.pattern); got != tc.want {
			t.Errorf("routeLabel(%q) = %q, want %q", tc.pattern, got, tc.want)
		}
	}
}

func TestMetricsHandler(t *testing.T) {
	t.Parallel()
	m := NewMetrics("v9.9.9", "deadbeef")
	m.StorageError("get_client")
	m.StorageError("get_client")
	var nilMetrics *Metrics
	nilMetrics.StorageError("ignored") // a nil *Metrics records nothing and does not panic

	rr := httptest.NewRecorder()
	m.Handler().ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	b, _ := io.ReadAll(rr.Body)
	body := string(b)
	for _, want := range []string{
		`actas_build_info{goversion="` + runtime.Version() + `",revision="deadbeef",version="v9.9.9"} 1`,
		`actas_storage_errors_total{op="get_client"} 2`,
		"go_goroutines",
		"actas_ready 0",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if runtime.GOOS == "linux" && !strings.Contains(body, "process_cpu_seconds_total") {
		t.Error("/metrics lacks the process collector")
	}
	// Two registries do not collide (no global state).
	_ = NewMetrics("a", "b")
}
