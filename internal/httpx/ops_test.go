package httpx

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOpsHandler(t *testing.T) {
	t.Parallel()
	m := NewMetrics("v1", "r1")
	tests := []struct {
		name     string
		ready    *Readiness
		method   string
		path     string
		status   int
		contains string
	}{
		{name: "ok/healthz", method: "GET", path: "/healthz", status: 200, contains: `{"status":"ok"}`},
		{name: "ok/healthz-head", method: "HEAD", path: "/healthz", status: 200},
		{name: "ok/metrics", method: "GET", path: "/metrics", status: 200, contains: `actas_build_info{`},
		{name: "fail/readyz-not-started", ready: NewReadiness(nil, 0, 0, nil, nil), method: "GET", path: "/readyz", status: 503, contains: `"reason":"starting"`},
		{name: "fail/readyz-nil-readiness", method: "GET", path: "/readyz", status: 503, contains: `"not_ready"`},
		{name: "fail/post-healthz", method: "POST", path: "/healthz", status: 405},
		{name: "fail/unknown", method: "GET", path: "/debug/pprof/", status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rr := httptest.NewRecorder()
			OpsHandler(tc.ready, m).ServeHTTP(rr, httptest.NewRequest(tc.method, tc.path, nil))
			if rr.Code != tc.status || !strings.Contains(rr.Body.String(), tc.contains) {
				t.Fatalf("%s %s = %d %q", tc.method, tc.path, rr.Code, rr.Body.String())
			}
			if tc.path == "/readyz" && rr.Header().Get("Cache-Control") != "no-store" {
				t.Fatal("readyz is cacheable")
			}
		})
	}
}

func TestOpsWithoutMetrics(t *testing.T) {
	t.Parallel()
	rr := httptest.NewRecorder()
	OpsHandler(nil, nil).ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rr.Code != 404 {
		t.Fatalf("/metrics without Metrics = %d", rr.Code)
	}
}
