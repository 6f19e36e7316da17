//go:build unix

package policy

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) the test process has used, so that benchmarks
// can report per-core throughput even on a shared, overloaded machine where wall time lies.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
