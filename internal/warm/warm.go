// Package warm runs functions on goroutines that are kept for the next call.
//
// A new goroutine starts with a small stack and grows it, by copying, as deep code runs on it: a
// signature, a JSON encoding, a storage round trip. The token endpoint runs such work beside each
// request (a token is signed while the grant is recorded, an audit event is stored while the
// tokens are); on fresh goroutines the copying cost several per cent of the server's CPU under
// load. [Go] hands the function to an idle pooled goroutine, whose stack has already grown, or
// starts one; a pooled goroutine that stays idle for a while exits, so a burst leaves nothing
// behind.
package warm

import (
	"sync/atomic"
	"time"
)

// idle is how long a pooled goroutine waits for work before it exits.
const idle = 30 * time.Second

// started counts the goroutines Go has started (for tests).
var started atomic.Int64

// work is unbuffered: a send succeeds only when a pooled goroutine is waiting for it.
var work = make(chan func())

// Go runs f on another goroutine, as the go statement does: a panic in f ends the process, and
// the caller synchronises with f's end itself (a channel, a sync.WaitGroup).
func Go(f func()) {
	select {
	case work <- f:
	default:
		started.Add(1)
		go serve(f)
	}
}

// serve runs f, then further work until it has been idle for idle.
func serve(f func()) {
	f()
	t := time.NewTimer(idle)
	defer t.Stop()
	for {
		select {
		case f := <-work:
			f()
			t.Reset(idle)
		case <-t.C:
			return
		}
	}
}
