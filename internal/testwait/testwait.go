// Package testwait is the tests' one way to wait for something another
// goroutine or process brings about: a reload, a counter, a closed
// connection. It polls; it never sleeps a fixed time hoping it was enough.
// It is for tests only; nothing on the data path imports it.
package testwait

import (
	"testing"
	"time"
)

// Interval is how often For checks its condition.
const Interval = 10 * time.Millisecond

// For checks cond every Interval until it holds, and fails the test with
// "timed out after <timeout> waiting for <what>" once timeout has passed
// without it holding. cond is checked at least once, and once more at the
// deadline, so a slow machine that misses every tick still gets a last
// look.
func For(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			if cond() {
				return
			}
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
			return // for a testing.TB whose Fatalf does not stop the goroutine
		}
		time.Sleep(Interval)
	}
}
