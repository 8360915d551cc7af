package netallow

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of NewRefusalLog.
const (
	RefusalLogFirst    = 5           // lines per source and interval
	RefusalLogInterval = time.Minute // the interval
	refusalLogSources  = 1024        // sources tracked at once; the rest share one entry
)

// RefusalLog samples the warnings of refused connections, so that a flood
// of connections cannot grow the log at will: per source IP and interval,
// the first lines are written; the rest are counted, and one summary line
// per source ("connections refused, not logged", with the count) is
// written with the first refusal after its interval ended. At most 1024
// sources are tracked at once; further ones share the entry of the
// unspecified address. Metrics still count every refusal. Safe for
// concurrent use; a nil *RefusalLog writes every line.
type RefusalLog struct {
	log      *slog.Logger
	first    int
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	sources   map[netip.Addr]*refusalWindow
	lastSweep time.Time
}

type refusalWindow struct {
	start      time.Time
	logged     int
	suppressed int
}

// NewRefusalLog writes to log the first `first` refusals of each source
// per interval (<= 0: the defaults above).
func NewRefusalLog(log *slog.Logger, first int, interval time.Duration) *RefusalLog {
	if first <= 0 {
		first = RefusalLogFirst
	}
	if interval <= 0 {
		interval = RefusalLogInterval
	}
	return &RefusalLog{log: log, first: first, interval: interval, now: time.Now, sources: map[netip.Addr]*refusalWindow{}}
}

// Warn logs msg with attrs (and the remote address) at Warn level unless
// addr's source has had its lines for this interval.
func (l *RefusalLog) Warn(addr net.Addr, msg string, attrs ...any) {
	remote := "unknown"
	if addr != nil {
		remote = addr.String()
	}
	attrs = append([]any{slog.String("remote", remote)}, attrs...)
	if l == nil {
		slog.Default().Warn(msg, attrs...)
		return
	}
	ip, _ := AddrIP(addr)
	l.mu.Lock()
	now := l.now()
	ended := l.sweep(now)
	w := l.sources[ip]
	if w == nil {
		if len(l.sources) >= refusalLogSources {
			ip = netip.Addr{}
			w = l.sources[ip]
		}
		if w == nil {
			w = &refusalWindow{start: now}
			l.sources[ip] = w
		}
	}
	emit := w.logged < l.first
	if emit {
		w.logged++
	} else {
		w.suppressed++
	}
	l.mu.Unlock()
	for src, n := range ended {
		l.log.Warn("connections refused, not logged", slog.String("source", sourceName(src)), slog.Int("count", n),
			slog.String("interval", l.interval.String()))
	}
	if emit {
		l.log.Warn(msg, attrs...)
	}
}

// sweep drops the windows that ended and returns their suppressed counts.
// It looks at most once a second.
func (l *RefusalLog) sweep(now time.Time) map[netip.Addr]int {
	if now.Sub(l.lastSweep) < time.Second {
		return nil
	}
	l.lastSweep = now
	var ended map[netip.Addr]int
	for ip, w := range l.sources {
		if now.Sub(w.start) < l.interval {
			continue
		}
		if w.suppressed > 0 {
			if ended == nil {
				ended = map[netip.Addr]int{}
			}
			ended[ip] = w.suppressed
		}
		delete(l.sources, ip)
	}
	return ended
}

func sourceName(ip netip.Addr) string {
	if !ip.IsValid() {
		return "other"
	}
	return ip.String()
}
