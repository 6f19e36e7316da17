package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		m := map[string]any{}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		format  string
		level   string
		wantErr error
		// what a line logged at info looks like, if it is written at all
		wantInfo bool
		wantJSON bool
	}{
		{name: "ok/defaults", wantInfo: true, wantJSON: true},
		{name: "ok/json-debug", format: "json", level: "debug", wantInfo: true, wantJSON: true},
		{name: "ok/text-upper", format: "TEXT", level: "INFO", wantInfo: true},
		{name: "ok/warn-drops-info", format: "json", level: "warn", wantJSON: true},
		{name: "ok/offset", format: "json", level: "info+4", wantJSON: true},
		{name: "fail/format", format: "xml", wantErr: ErrFormat},
		{name: "fail/level", level: "verbose", wantErr: ErrLevel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			log, err := New(&buf, tc.format, tc.level)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello", "n", 1)
			out := buf.String()
			if !tc.wantInfo {
				if out != "" {
					t.Fatalf("info line written at level %q: %s", tc.level, out)
				}
				log.Error("boom")
				out = buf.String()
			}
			if tc.wantJSON != strings.HasPrefix(out, "{") {
				t.Fatalf("json = %v, output %q", tc.wantJSON, out)
			}
		})
	}
}

func TestRequestIDOnEveryLine(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log, err := New(&buf, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "plain")
	log.With("component", "x").InfoContext(ctx, "with-attrs")
	log.WithGroup("g").With("a", 1).InfoContext(ctx, "grouped", "b", 2)
	log.InfoContext(ctx, "explicit", KeyRequestID, "req-1")
	log.InfoContext(context.Background(), "no-id")

	lines := decodeLines(t, &buf)
	if len(lines) != 5 {
		t.Fatalf("got %d lines: %s", len(lines), buf.String())
	}
	for _, l := range lines[:4] {
		if l[KeyRequestID] != "req-1" {
			t.Errorf("line %v: request_id = %v", l["msg"], l[KeyRequestID])
		}
	}
	g, _ := lines[2]["g"].(map[string]any)
	if g["a"] != float64(1) || g["b"] != float64(2) || g[KeyRequestID] != nil {
		t.Errorf("grouped attrs = %v", lines[2])
	}
	if strings.Count(buf.String(), `"request_id"`) != 4 {
		t.Errorf("request_id duplicated or missing:\n%s", buf.String())
	}
	if _, ok := lines[4][KeyRequestID]; ok {
		t.Errorf("request_id on a line without one in the context: %v", lines[4])
	}
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	if got := RequestID(context.Background()); got != "" {
		t.Fatalf("empty context: %q", got)
	}
	ctx := WithRequestID(context.Background(), "abc")
	if got := RequestID(ctx); got != "abc" {
		t.Fatalf("RequestID = %q", got)
	}
	// A value under another package's key is not picked up.
	type otherKey struct{}
	ctx = context.WithValue(context.Background(), otherKey{}, "x")
	if got := RequestID(ctx); got != "" {
		t.Fatalf("foreign key leaked: %q", got)
	}
}

func TestHandlerEnabledFollowsInner(t *testing.T) {
	t.Parallel()
	inner := slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn})
	h := NewHandler(inner)
	if h.Enabled(context.Background(), slog.LevelInfo) {
		t.Fatal("info enabled at warn")
	}
	if !h.WithGroup("g").Enabled(context.Background(), slog.LevelError) {
		t.Fatal("error disabled at warn")
	}
}

// TestFloor: a floored logger writes records at the floor even when the handler's level is higher,
// through the same handler (request id and redaction kept), and still drops what is below both.
func TestFloor(t *testing.T) {
	var buf bytes.Buffer
	log, err := New(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "r-1")
	log.InfoContext(ctx, "plain info")
	f := Floor(log, slog.LevelInfo).With("component", "audit")
	f.InfoContext(ctx, "audit event", "client_secret", "s3cr3t")
	f.DebugContext(ctx, "floored debug")
	out := buf.String()
	switch {
	case strings.Contains(out, "plain info"), strings.Contains(out, "floored debug"):
		t.Fatalf("a record below both levels was written:\n%s", out)
	case !strings.Contains(out, `"msg":"audit event"`), !strings.Contains(out, `"request_id":"r-1"`),
		!strings.Contains(out, `"component":"audit"`), strings.Contains(out, "s3cr3t"):
		t.Fatalf("the floored info record is missing or lost the handler's treatment:\n%s", out)
	}
}
