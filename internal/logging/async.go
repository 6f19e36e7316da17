package logging

import (
	"io"
	"sync"
)

// DefaultAsyncLimit is the most bytes an [AsyncWriter] holds before a Write waits for the output.
const DefaultAsyncLimit = 1 << 20

// AsyncWriter takes the lines of many goroutines and writes them out from one goroutine, as many
// as are waiting in one write: a log line costs a copy instead of a system call, and no logging
// goroutine waits on another's write. The output starts as soon as a line arrives (there is no
// timer), lines keep their order and are never dropped: when limit bytes are waiting, Write waits
// for the output to catch up (the back-pressure a slow log collector exerts on a direct write).
//
// What is lost on a crash is what was still waiting, the lines of the last write's duration;
// [AsyncWriter.Close] writes out everything before returning, and Writes after Close go straight to
// the output. Errors of the output are not reported (slog ignores a handler's errors as well).
type AsyncWriter struct {
	out   io.Writer
	limit int

	mu      sync.Mutex
	room    sync.Cond // signalled when the output took a batch
	pending []byte    // lines waiting for the output
	spare   []byte    // the previous batch's buffer, reused
	closed  bool

	direct sync.Mutex // serializes the writes after Close

	wake chan struct{} // a token means lines may be pending
	done chan struct{} // closed when the output goroutine has ended
}

// NewAsyncWriter starts the goroutine that writes to out; limit <= 0 means [DefaultAsyncLimit].
func NewAsyncWriter(out io.Writer, limit int) *AsyncWriter {
	if limit <= 0 {
		limit = DefaultAsyncLimit
	}
	w := &AsyncWriter{out: out, limit: limit, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues a copy of p (one log line, as slog's handlers write it) and returns.
func (w *AsyncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	for !w.closed && len(w.pending) > 0 && len(w.pending)+len(p) > w.limit {
		w.room.Wait()
	}
	if w.closed {
		w.mu.Unlock()
		<-w.done // the last batch is out
		w.direct.Lock()
		defer w.direct.Unlock()
		return w.out.Write(p)
	}
	w.pending = append(w.pending, p...)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default: // a token is already there
	}
	return len(p), nil
}

// run writes out what is pending until Close.
func (w *AsyncWriter) run() {
	defer close(w.done)
	for range w.wake {
		for {
			w.mu.Lock()
			if len(w.pending) == 0 {
				closed := w.closed
				w.mu.Unlock()
				if closed {
					return
				}
				break
			}
			batch := w.pending
			w.pending, w.spare = w.spare[:0], nil
			w.mu.Unlock()
			_, _ = w.out.Write(batch)
			w.mu.Lock()
			if cap(batch) <= 2*w.limit {
				w.spare = batch[:0]
			}
			w.room.Broadcast()
			w.mu.Unlock()
		}
	}
}

// Close writes out every pending line and stops the goroutine; later Writes go straight to the
// output. It returns nil (the output's errors are not reported).
func (w *AsyncWriter) Close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		<-w.done
		return nil
	}
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
	return nil
}
