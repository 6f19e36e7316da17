//go:build !unix

package policy

import "time"

// processCPU is not available here; benchmarks then report wall-clock throughput only.
func processCPU() time.Duration { return 0 }
