package warm

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGoRunsEveryFunctionOnce(t *testing.T) {
	const n = 2000
	var (
		wg   sync.WaitGroup
		runs [n]atomic.Int32
	)
	for i := range n {
		wg.Add(1)
		Go(func() { defer wg.Done(); runs[i].Add(1) })
	}
	wg.Wait()
	for i := range n {
		if got := runs[i].Load(); got != 1 {
			t.Fatalf("function %d ran %d times", i, got)
		}
	}
}

// A function that blocks does not hold up the next: each call gets its own goroutine when no
// pooled one is idle.
func TestGoDoesNotQueueBehindABlockedFunction(t *testing.T) {
	release := make(chan struct{})
	blocked := make(chan struct{})
	Go(func() { close(blocked); <-release })
	<-blocked
	done := make(chan struct{})
	Go(func() { close(done) })
	<-done
	close(release)
}

// Once a function has returned, its goroutine takes the next call instead of a new one starting.
func TestGoReusesAnIdleGoroutine(t *testing.T) {
	const n = 1000
	done := make(chan struct{})
	before := started.Load()
	for range n {
		Go(func() { done <- struct{}{} })
		<-done
		runtime.Gosched() // let the goroutine get back to waiting for work
	}
	if s := started.Load() - before; s > n/10 {
		t.Fatalf("%d sequential calls started %d goroutines", n, s)
	}
}
