package testwait

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a testing.TB that records Fatalf instead of ending the test.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.failed = fmt.Sprintf(format, args...) }

func TestFor(t *testing.T) {
	tests := []struct {
		name     string
		after    time.Duration // cond holds from then on; negative: never
		timeout  time.Duration
		wantFail bool
	}{
		{"a condition that already holds returns at once", 0, time.Second, false},
		{"a condition that comes to hold within the timeout returns", 50 * time.Millisecond, 2 * time.Second, false},
		{"a condition that never holds fails naming what was awaited", -1, 50 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			var calls atomic.Int64
			cond := func() bool {
				calls.Add(1)
				return tt.after >= 0 && time.Since(start) >= tt.after
			}
			r := &recorder{TB: t}
			For(r, tt.timeout, "the thing", cond)
			if got := r.failed != ""; got != tt.wantFail {
				t.Fatalf("failed = %q, want failure: %v", r.failed, tt.wantFail)
			}
			if tt.wantFail && (!strings.Contains(r.failed, "the thing") || !strings.Contains(r.failed, "50ms")) {
				t.Errorf("message %q does not name what was awaited and how long", r.failed)
			}
			if tt.wantFail && time.Since(start) < tt.timeout {
				t.Errorf("gave up after %v, before the timeout", time.Since(start))
			}
			if !tt.wantFail && time.Since(start) > tt.after+time.Second {
				t.Errorf("returned %v after the condition held", time.Since(start)-tt.after)
			}
		})
	}
}
