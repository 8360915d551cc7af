package auth

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Refusal log sampling: per source address and interval, the first
// refusalLogFirst refusals are logged; the rest are counted and reported
// in one summary line when the interval has passed. At most
// refusalLogSources addresses are tracked at once; the others share one
// "other" entry. So an interval logs at most
// (refusalLogSources+1)*(refusalLogFirst+1) lines whatever the rate, while
// gateway_auth_failures_total still counts every refusal.
const (
	refusalLogFirst    = 5
	refusalLogInterval = time.Minute
	refusalLogSources  = 1024
	otherSources       = "other"
)

// refusalLog samples the Warn lines of refused credentials. The zero value
// is not usable; see newRefusalLog. Safe for concurrent use.
type refusalLog struct {
	first    int
	interval time.Duration
	maxSrc   int
	now      func() time.Time

	mu        sync.Mutex
	sources   map[string]*refusalWindow // guarded by mu
	lastSweep time.Time                 // guarded by mu
}

// refusalWindow is one source's current interval.
type refusalWindow struct {
	start      time.Time
	logged     int
	suppressed int
}

func newRefusalLog() *refusalLog {
	return &refusalLog{first: refusalLogFirst, interval: refusalLogInterval, maxSrc: refusalLogSources,
		now: time.Now, sources: map[string]*refusalWindow{}}
}

// warn logs msg with attrs at Warn unless remote's address has had its
// first lines of the interval already; it first writes the summaries of
// the intervals that have ended. A nil *refusalLog logs every line.
func (l *refusalLog) warn(log *slog.Logger, remote, msg string, attrs ...any) {
	if l == nil {
		log.Warn(msg, attrs...)
		return
	}
	src := sourceOf(remote)
	l.mu.Lock()
	now := l.now()
	summaries := l.sweep(now)
	w := l.sources[src]
	if w == nil {
		if len(l.sources) >= l.maxSrc {
			src = otherSources
			w = l.sources[src]
		}
		if w == nil {
			w = &refusalWindow{start: now}
			l.sources[src] = w
		}
	}
	emit := w.logged < l.first
	if emit {
		w.logged++
	} else {
		w.suppressed++
	}
	l.mu.Unlock()
	for _, s := range summaries {
		log.Warn("auth: refusals not logged", "source", s.source, "count", s.count, "interval", l.interval.String())
	}
	if emit {
		log.Warn(msg, attrs...)
	}
}

type refusalSummary struct {
	source string
	count  int
}

// sweep ends every window older than the interval, checking at most
// every quarter interval, and returns the summaries to write. Called with mu held.
func (l *refusalLog) sweep(now time.Time) []refusalSummary {
	if now.Sub(l.lastSweep) < l.interval/4 {
		return nil
	}
	l.lastSweep = now
	var out []refusalSummary
	for src, w := range l.sources {
		if now.Sub(w.start) < l.interval {
			continue
		}
		if w.suppressed > 0 {
			out = append(out, refusalSummary{src, w.suppressed})
		}
		delete(l.sources, src)
	}
	return out
}

// sourceOf is the IP of a remote "host:port" address (the whole string
// when it has no port), so that one client's connections share a window.
func sourceOf(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}
