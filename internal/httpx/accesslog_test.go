package httpx

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/actas-dev/actas/internal/logging"
)

func TestAccessLog(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /oauth2/token", func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handler line")
		WriteJSON(w, 200, map[string]string{"ok": "yes"})
	})
	h := Wrap(mux, WrapOptions{Logger: log})

	req := httptest.NewRequest(http.MethodPost, "/oauth2/token?code=SECRETCODE&state=xyz",
		strings.NewReader("client_secret=SECRETBODY"))
	req.Header.Set("Authorization", "Bearer SECRETHEADER")
	req.Header.Set(HeaderRequestID, "req-42")
	req.RemoteAddr = "192.0.2.7:4711"
	h.ServeHTTP(httptest.NewRecorder(), req)

	out := logs.String()
	for _, secret := range []string{"SECRETCODE", "SECRETBODY", "SECRETHEADER", "state=xyz", "?"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	lines := logs.lines(t)
	if len(lines) != 2 {
		t.Fatalf("want handler line + access line, got:\n%s", out)
	}
	if lines[0]["msg"] != "handler line" || lines[0][logging.KeyRequestID] != "req-42" {
		t.Errorf("handler line without request id: %v", lines[0])
	}
	access := lines[1]
	want := map[string]any{
		"msg":                "http request",
		"level":              "INFO",
		"method":             "POST",
		"route":              "/oauth2/token",
		"status":             float64(200),
		logging.KeyRequestID: "req-42",
		"remote_addr":        "192.0.2.7:4711",
	}
	for k, v := range want {
		if access[k] != v {
			t.Errorf("access line %s = %v, want %v", k, access[k], v)
		}
	}
	if b, _ := access["bytes"].(float64); b <= 0 {
		t.Errorf("bytes = %v", access["bytes"])
	}
	if _, ok := access["duration"]; !ok {
		t.Errorf("no duration: %v", access)
	}
	if strings.Count(out, `"request_id"`) != 2 {
		t.Errorf("request_id duplicated:\n%s", out)
	}
}

func TestAccessLogServerErrorLevel(t *testing.T) {
	t.Parallel()
	log, logs := newLogger(t)
	h := Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { StorageUnavailable(w) }), WrapOptions{Logger: log})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/x", nil))
	lines := logs.lines(t)
	if len(lines) != 1 || lines[0]["level"] != slog.LevelError.String() || lines[0]["status"] != float64(503) {
		t.Fatalf("access line for a 503: %v", lines)
	}
}
