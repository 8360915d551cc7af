package logbuf

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritersLoseNoLine(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(&b, "w%d-%d\n", w, i)
				_ = b.String() // reads race with writes under -race if unguarded
			}
		}()
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
}

func TestTail(t *testing.T) {
	var b Buffer
	b.Write([]byte("a\nb\nc\n"))
	cases := []struct {
		name string
		n    int
		want string
	}{
		{"the last two lines of three", 2, "b\nc"},
		{"more lines than written gives them all", 10, "a\nb\nc"},
		{"zero lines is empty", 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := b.Tail(c.n); got != c.want {
				t.Fatalf("Tail(%d) = %q, want %q", c.n, got, c.want)
			}
		})
	}
}
