package cputime

import (
	"runtime"
	"testing"
	"time"
)

func TestProcessCountsTheCPUSpent(t *testing.T) {
	before, ok := Process()
	if !ok {
		if runtime.GOOS != "windows" && runtime.GOOS != "plan9" && runtime.GOOS != "js" && runtime.GOOS != "wasip1" {
			t.Fatalf("no CPU time on %s, a unix", runtime.GOOS)
		}
		t.Skip("no process CPU time on", runtime.GOOS)
	}
	x := 0
	for start := time.Now(); time.Since(start) < 100*time.Millisecond; {
		x++
	}
	after, _ := Process()
	if spent := after - before; spent < 20*time.Millisecond {
		t.Fatalf("100 ms of spinning counted as %v of CPU (%d turns)", spent, x)
	}
}
