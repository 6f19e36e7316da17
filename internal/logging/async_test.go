package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is an output that records what it got and can be held to simulate a slow collector.
type syncBuffer struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
	hold   chan struct{} // when set, each write waits until it is closed
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	if b.hold != nil {
		<-b.hold
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes++
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestAsyncWriterKeepsEveryLineInOrder: many goroutines log at once; after Close every line is
// out, whole, and each goroutine's lines are in the order it wrote them.
func TestAsyncWriterKeepsEveryLineInOrder(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	w := NewAsyncWriter(out, 4096) // small: the writers meet the limit and wait
	const writers, lines = 16, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				line := fmt.Sprintf("g%02d line %04d %s\n", g, i, strings.Repeat("x", i%50))
				if n, err := w.Write([]byte(line)); n != len(line) || err != nil {
					t.Errorf("Write = %d, %v", n, err)
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("%d lines out, want %d", len(got), writers*lines)
	}
	next := make([]int, writers)
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "g%02d line %04d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("torn line %q: %v", l, err)
		}
		if i != next[g] {
			t.Fatalf("goroutine %d: line %d came out where %d was due", g, i, next[g])
		}
		if want := strings.Repeat("x", i%50); !strings.HasSuffix(l, " "+want) {
			t.Fatalf("torn line %q", l)
		}
		next[g]++
	}
	if out.writes >= writers*lines {
		t.Errorf("%d writes for %d lines: the lines were not written out together", out.writes, writers*lines)
	}
}

// TestAsyncWriterBackPressure: with the output stuck, Write returns until limit bytes wait, then
// waits; nothing is dropped.
func TestAsyncWriterBackPressure(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{hold: make(chan struct{})}
	w := NewAsyncWriter(out, 100)
	line := []byte(strings.Repeat("a", 39) + "\n") // 40 bytes
	_, _ = w.Write(line)
	for taken := false; !taken; { // the output takes the first line and is stuck writing it
		time.Sleep(time.Millisecond)
		w.mu.Lock()
		taken = len(w.pending) == 0
		w.mu.Unlock()
	}
	_, _ = w.Write(line)
	_, _ = w.Write(line) // two wait: 80 bytes
	blocked := make(chan struct{})
	go func() {
		_, _ = w.Write(line) // 120 > 100: waits for the output
		close(blocked)
	}()
	select {
	case <-blocked:
		t.Fatal("Write returned while the limit was reached and the output was stuck")
	case <-time.After(50 * time.Millisecond):
	}
	close(out.hold) // the output catches up
	<-blocked
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != strings.Repeat(string(line), 4) {
		t.Fatalf("output %q, want four lines", got)
	}
}

// TestAsyncWriterAfterClose: writes after Close go straight to the output, after everything
// written before.
func TestAsyncWriterAfterClose(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	w := NewAsyncWriter(out, 0)
	_, _ = w.Write([]byte("before\n"))
	_ = w.Close()
	_ = w.Close() // twice is fine
	if n, err := w.Write([]byte("after\n")); n != 6 || err != nil {
		t.Fatalf("Write after Close = %d, %v", n, err)
	}
	if got := out.String(); got != "before\nafter\n" {
		t.Fatalf("output %q", got)
	}
}

// BenchmarkLogLine logs an audit-sized JSON line from many goroutines into a file, written
// directly (a system call per line, under the handler's lock) or through an AsyncWriter.
func BenchmarkLogLine(b *testing.B) {
	for _, async := range []bool{false, true} {
		name := "direct"
		if async {
			name = "async"
		}
		b.Run(name, func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var out io.Writer = f
			if async {
				w := NewAsyncWriter(f, 0)
				defer w.Close()
				out = w
			}
			log, err := New(out, "json", "info")
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.SetParallelism(25) // 50 goroutines on 2 cores, as under the README's load
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					log.LogAttrs(ctx, slog.LevelInfo, "audit event",
						slog.String("event_id", "f2b8e492a0576a0bc281334ed06d2e48"), slog.String("event_type", "token_exchange.granted"),
						slog.String("event_time", "2026-12-07T01:25:38.945532588Z"), slog.String("actor", "u-agent1742"),
						slog.String("target", "u-cust17091"), slog.String("client_id", "demo-console"),
						slog.String("representation_id", "x91WEJaIEpjwGbMuDal2hg"), slog.String("decision", "allow"),
						slog.String("reason_text", "load test: customer asked for help"), slog.String("source_address", "127.0.0.1"),
						slog.String("hash", "0c4fb4a113d5a1540846183f9dfddb20a979caa314a24b52e0c7a7380fcf5235"))
				}
			})
		})
	}
}
