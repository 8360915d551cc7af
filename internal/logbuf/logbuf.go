// Package logbuf is the tests' one log sink: a byte buffer that servers,
// loggers and subprocess pipes may write to from many goroutines while a
// test reads it. It is for tests and tools only; nothing on the data path
// imports it.
package logbuf

import (
	"bytes"
	"strings"
	"sync"
)

// Buffer is an append-only buffer safe for concurrent Write and reads. The
// zero value is ready to use; a Buffer must not be copied after first use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p. It never fails.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Tail returns the last n lines written (all of them when there are fewer),
// without the final newline.
func (l *Buffer) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(l.String(), "\n"), "\n")
	if n >= 0 && len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
