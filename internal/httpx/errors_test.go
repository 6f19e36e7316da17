package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/actas-dev/actas/storage"
)

func TestWriteError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		write    func(w http.ResponseWriter)
		status   int
		wantBody string
		header   map[string]string
	}{
		{
			name:     "ok/with-description",
			write:    func(w http.ResponseWriter) { WriteError(w, 400, "invalid_request", "missing subject_token") },
			status:   400,
			wantBody: `{"error":"invalid_request","error_description":"missing subject_token"}`,
		},
		{
			name:     "ok/without-description",
			write:    func(w http.ResponseWriter) { WriteError(w, 401, "invalid_client", "") },
			status:   401,
			wantBody: `{"error":"invalid_client"}`,
		},
		{
			name:     "ok/storage-unavailable",
			write:    StorageUnavailable,
			status:   503,
			wantBody: `{"error":"temporarily_unavailable","error_description":"The service is temporarily unavailable. Try again shortly."}`,
			header:   map[string]string{"Retry-After": "1"},
		},
		{
			name:     "ok/too-large",
			write:    WriteTooLarge,
			status:   413,
			wantBody: `{"error":"invalid_request","error_description":"The request body is too large."}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rr := httptest.NewRecorder()
			tc.write(rr)
			if rr.Code != tc.status {
				t.Fatalf("status = %d, want %d", rr.Code, tc.status)
			}
			if got := strings.TrimSpace(rr.Body.String()); got != tc.wantBody {
				t.Fatalf("body = %s, want %s", got, tc.wantBody)
			}
			want := map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"}
			for k, v := range tc.header {
				want[k] = v
			}
			for k, v := range want {
				if got := rr.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestWriteJSON(t *testing.T) {
	t.Parallel()
	rr := httptest.NewRecorder()
	WriteJSON(rr, http.StatusCreated, map[string]int{"n": 1})
	if rr.Code != 201 || strings.TrimSpace(rr.Body.String()) != `{"n":1}` || rr.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("got %d %q %v", rr.Code, rr.Body.String(), rr.Header())
	}

	rr = httptest.NewRecorder()
	WriteJSON(rr, http.StatusOK, map[string]any{"f": func() {}}) // cannot be encoded
	if rr.Code != 500 || strings.TrimSpace(rr.Body.String()) != `{"error":"server_error"}` {
		t.Fatalf("unencodable: got %d %q", rr.Code, rr.Body.String())
	}
}

func TestIsUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "ok/sentinel", err: storage.ErrUnavailable, want: true},
		{name: "ok/wrapped", err: fmt.Errorf("redis: get client %q: %w", "x", storage.ErrUnavailable), want: true},
		{name: "fail/not-found", err: storage.ErrNotFound},
		{name: "fail/other", err: errors.New("storage: unavailable")},
		{name: "fail/nil"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := IsUnavailable(tc.err); got != tc.want {
				t.Fatalf("IsUnavailable(%v) = %v", tc.err, got)
			}
		})
	}
}

func TestIsTooLarge(t *testing.T) {
	t.Parallel()
	rr := httptest.NewRecorder()
	body := http.MaxBytesReader(rr, io.NopCloser(strings.NewReader("0123456789")), 4)
	_, err := io.ReadAll(body)
	if !IsTooLarge(err) || !IsTooLarge(fmt.Errorf("parse form: %w", err)) {
		t.Fatalf("IsTooLarge(%v) = false", err)
	}
	if IsTooLarge(io.ErrUnexpectedEOF) || IsTooLarge(nil) {
		t.Fatal("IsTooLarge true for an unrelated error")
	}
}
