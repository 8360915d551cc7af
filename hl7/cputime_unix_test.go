//go:build unix

package hl7

import (
	"syscall"
	"time"
)

// processCPU returns the user+system CPU time the process has used, so
// that benchmarks can report throughput per CPU second, which stays
// meaningful on a shared, overloaded machine where wall time does not.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
