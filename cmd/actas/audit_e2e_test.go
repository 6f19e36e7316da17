package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/actas-dev/actas/audit"
	"github.com/actas-dev/actas/config"
	"github.com/actas-dev/actas/internal/logging"
	redisstore "github.com/actas-dev/actas/storage/redis"
	"github.com/actas-dev/actas/storage/redistest"
)

// runAuditCLI runs `actas audit ...` in process (on a root of its own until the lead adds the
// command to newRootCmd) and returns the exit code, stdout and stderr.
func runAuditCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	root := &cobra.Command{Use: "actas", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newAuditCmd())
	var out, errb bytes.Buffer
	root.SetArgs(append([]string{"audit"}, args...))
	root.SetOut(&out)
	root.SetErr(&errb)
	err := root.Execute()
	code := 0
	if err != nil {
		code = 1
		if ee, ok := err.(exitError); ok {
			code = ee.code
		} else {
			errb.WriteString("actas: " + err.Error() + "\n")
		}
	}
	return code, out.String(), errb.String()
}

// TestAuditCLI writes a trail to Redis, reads it back with tail and export, verifies it, tampers
// with it, and sees verify fail with the position.
func TestAuditCLI(t *testing.T) {
	o := redistest.Options(t)
	t.Setenv("ACTAS_STORAGE_BACKEND", "redis")
	t.Setenv("ACTAS_STORAGE_REDIS_URL", o.URL)
	t.Setenv("ACTAS_STORAGE_REDIS_KEY_PREFIX", o.KeyPrefix)
	kv, err := redisstore.New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	tr, err := audit.New(audit.Options{Store: kv, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var recs []audit.Event
	for i, typ := range []string{audit.TypeLoginSucceeded, audit.TypeExchangeGranted, audit.TypeExchangeDenied, audit.TypeRepresentationStopped} {
		e, err := tr.Append(context.Background(), audit.Event{Type: typ, Actor: "u-sam", Target: "u-carla",
			ReasonText: "line " + string(rune('a'+i)) + " <&>"})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, e)
	}

	t.Run("ok/tail", func(t *testing.T) {
		code, out, errOut := runAuditCLI(t, "tail", "--dev", "--n", "2")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 2 || !strings.Contains(lines[0], audit.TypeExchangeDenied) ||
			!strings.Contains(lines[1], audit.TypeRepresentationStopped) || !strings.Contains(lines[1], "id="+recs[3].ID) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("ok/export-json-lines-rehash", func(t *testing.T) {
		code, out, errOut := runAuditCLI(t, "export", "--dev", "--since", "1h")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if code != 0 || len(lines) != 4 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
		prev := ""
		for i, line := range lines {
			// The documented recipe: drop "hash", canonicalize, SHA-256; and prev_hash links.
			var e audit.Event
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatal(err)
			}
			hash := e.Hash
			e.Hash = ""
			if audit.HashOf(audit.Canonical(e)) != hash || e.PrevHash != prev || e.ID != recs[i].ID {
				t.Fatalf("line %d does not re-hash or chain: %s", i, line)
			}
			if !strings.Contains(line, `<&>`) {
				t.Fatalf("line %d is not the raw canonical form: %s", i, line)
			}
			prev = hash
		}
	})
	t.Run("ok/export-empty-range", func(t *testing.T) {
		code, out, _ := runAuditCLI(t, "export", "--dev", "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z")
		if code != 0 || out != "" {
			t.Fatalf("exit %d, %q", code, out)
		}
	})
	t.Run("fail/export-without-since", func(t *testing.T) {
		if code, _, errOut := runAuditCLI(t, "export", "--dev"); code == 0 || !strings.Contains(errOut, "since") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("fail/export-bad-since", func(t *testing.T) {
		if code, _, errOut := runAuditCLI(t, "export", "--dev", "--since", "last week"); code == 0 || !strings.Contains(errOut, "--since") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("ok/verify", func(t *testing.T) {
		code, out, errOut := runAuditCLI(t, "verify", "--dev")
		if code != 0 || !strings.Contains(out, "intact") || !strings.Contains(out, recs[3].Hash) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("fail/verify-after-deletion", func(t *testing.T) {
		ms, err := kv.Client().XRange(context.Background(), kv.Prefix()+"{audit}:log", "-", "+").Result()
		if err != nil || len(ms) != 4 {
			t.Fatal(err)
		}
		kv.Client().XDel(context.Background(), kv.Prefix()+"{audit}:log", ms[1].ID)
		code, out, errOut := runAuditCLI(t, "verify", "--dev", "--json")
		var rep audit.Report
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if code != 1 || rep.Break == nil || rep.Break.Kind != audit.BreakDeleted || rep.Break.Position != ms[2].ID ||
			!strings.Contains(errOut, "position "+ms[2].ID) {
			t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
		}
	})
	t.Run("fail/memory-backend", func(t *testing.T) {
		t.Setenv("ACTAS_STORAGE_BACKEND", "memory")
		code, _, errOut := runAuditCLI(t, "verify", "--dev")
		if code != 2 || !strings.Contains(errOut, "memory backend") {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
	t.Run("fail/redis-unreachable", func(t *testing.T) {
		t.Setenv("ACTAS_STORAGE_REDIS_URL", "redis://127.0.0.1:1")
		t.Setenv("ACTAS_STORAGE_TIMEOUT", "300ms")
		start := time.Now()
		code, _, errOut := runAuditCLI(t, "tail", "--dev")
		if code != 2 || !strings.Contains(errOut, "cannot reach") || time.Since(start) > 10*time.Second {
			t.Fatalf("exit %d: %s", code, errOut)
		}
	})
}

// TestAuditLogSinkAtWarn: the log is one of the audit trail's two sinks and always on, so its INFO
// "audit event" lines are written even at log.level warn, while other INFO lines are not.
func TestAuditLogSinkAtWarn(t *testing.T) {
	cfg := config.Dev()
	cfg.Storage.Backend = config.BackendMemory
	var buf lockedBuffer
	log, err := logging.New(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	defer a.Close()
	log.Info("an ordinary info line")
	out := buf.String()
	if !strings.Contains(out, `"level":"INFO","msg":"audit event"`) || !strings.Contains(out, `"event_type":"config.loaded"`) {
		t.Fatalf("no audit event line at log.level warn:\n%s", out)
	}
	if strings.Contains(out, "an ordinary info line") {
		t.Fatalf("log.level warn let an ordinary info line through:\n%s", out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's concurrent writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
