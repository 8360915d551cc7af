package mllp

import (
	"log/slog"
	"sync"
	"time"
)

// unframedLogEvery is the least time between two log lines about bytes
// outside frames on one server: a sender that appends a line feed to every
// frame must not flood the log. The bytes are counted in
// gateway_mllp_discarded_bytes_total whether logged or not.
var unframedLogEvery = time.Minute

// logLimiter lets one log line through per interval and counts what it
// held back. Its zero value is ready to use; it is safe for concurrent use.
type logLimiter struct {
	mu              sync.Mutex
	last            time.Time
	suppressed      int64 // events held back since the last line
	suppressedBytes int64
}

// allow reports whether an event of n bytes at now may be logged and, if
// so, how many events and bytes were held back since the last line.
func (l *logLimiter) allow(now time.Time, n int64, every time.Duration) (ok bool, events, bytes int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < every {
		l.suppressed++
		l.suppressedBytes += n
		return false, 0, 0
	}
	events, bytes = l.suppressed, l.suppressedBytes
	l.last, l.suppressed, l.suppressedBytes = now, 0, 0
	return true, events, bytes
}

// unframed logs n bytes read outside a frame (before a start block or
// between a trailer and the next start block) on a connection whose logger
// names the remote address. The bytes themselves are never logged: they
// may hold message content.
func (c *conn) unframed(log *slog.Logger, n int64) {
	ok, events, bytes := c.s.unframed.allow(time.Now(), n, unframedLogEvery)
	if !ok {
		return
	}
	log.Warn("mllp bytes outside a frame discarded", "bytes", n,
		"suppressed_events", events, "suppressed_bytes", bytes)
}
