//go:build !unix

package cputime

import "time"

// Process is not available here: benchmarks report wall time only.
func Process() (d time.Duration, ok bool) { return 0, false }
