package netallow

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// Defaults of RefusalLogOptions.
const (
	RefusalLogFirst    = 5           // lines per source and interval
	RefusalLogInterval = time.Minute // the interval
	RefusalLogSources  = 1024        // sources tracked at once; the rest share one entry
	// RefusalLogSummary is the message of the line that reports a source's
	// refusals not logged in an interval.
	RefusalLogSummary = "connections refused, not logged"
)

// RefusalLogOptions tune a RefusalLog; zero values mean the defaults above.
type RefusalLogOptions struct {
	First    int           // lines per source and interval
	Interval time.Duration // the sampling interval
	Sources  int           // sources tracked at once
	Summary  string        // message of the summary line
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// RefusalLog samples the warnings of refusals (connections refused at the
// listener, credentials refused by auth), so that a flood cannot grow the
// log at will: per source IP and interval, the first lines are written;
// the rest are counted, and one summary line per source (Summary, with
// the source, the count and the interval) is written with the first
// refusal after its interval ended. At most Sources sources are tracked
// at once; further ones, and remotes without an IP address, share the
// entry of the unspecified address (logged as source "other"). So an
// interval logs at most (Sources+1)*(First+1) lines whatever the rate,
// while metrics still count every refusal. Safe for concurrent use; a nil
// *RefusalLog writes every line to slog.Default().
type RefusalLog struct {
	log *slog.Logger
	o   RefusalLogOptions

	mu        sync.Mutex
	sources   map[netip.Addr]*refusalWindow
	lastSweep time.Time
}

type refusalWindow struct {
	start      time.Time
	logged     int
	suppressed int
}

// NewRefusalLog writes sampled lines to log.
func NewRefusalLog(log *slog.Logger, o RefusalLogOptions) *RefusalLog {
	if o.First <= 0 {
		o.First = RefusalLogFirst
	}
	if o.Interval <= 0 {
		o.Interval = RefusalLogInterval
	}
	if o.Sources <= 0 {
		o.Sources = RefusalLogSources
	}
	if o.Summary == "" {
		o.Summary = RefusalLogSummary
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &RefusalLog{log: log, o: o, sources: map[netip.Addr]*refusalWindow{}}
}

// Warn logs msg with the remote address and attrs at Warn level unless
// addr's source has had its lines for this interval.
func (l *RefusalLog) Warn(addr net.Addr, msg string, attrs ...any) {
	remote := "unknown"
	if addr != nil {
		remote = addr.String()
	}
	ip, _ := AddrIP(addr)
	l.warn(ip, msg, append([]any{slog.String("remote", remote)}, attrs...))
}

// WarnRemote is Warn for a remote address given as text ("host:port", as
// http.Request.RemoteAddr, or a bare IP address).
func (l *RefusalLog) WarnRemote(remote, msg string, attrs ...any) {
	var ip netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		ip = ap.Addr()
	} else if a, err := netip.ParseAddr(remote); err == nil {
		ip = a
	}
	l.warn(ip.Unmap().WithZone(""), msg, append([]any{slog.String("remote", remote)}, attrs...))
}

func (l *RefusalLog) warn(ip netip.Addr, msg string, attrs []any) {
	if l == nil {
		slog.Default().Warn(msg, attrs...)
		return
	}
	l.mu.Lock()
	now := l.o.Now()
	ended := l.sweep(now)
	w := l.sources[ip]
	if w == nil {
		if len(l.sources) >= l.o.Sources {
			ip = netip.Addr{}
			w = l.sources[ip]
		}
		if w == nil {
			w = &refusalWindow{start: now}
			l.sources[ip] = w
		}
	}
	emit := w.logged < l.o.First
	if emit {
		w.logged++
	} else {
		w.suppressed++
	}
	l.mu.Unlock()
	for src, n := range ended {
		l.log.Warn(l.o.Summary, slog.String("source", sourceName(src)), slog.Int("count", n),
			slog.String("interval", l.o.Interval.String()))
	}
	if emit {
		l.log.Warn(msg, attrs...)
	}
}

// sweep drops the windows that ended and returns their suppressed counts.
// It looks at most once a second. Called with mu held.
func (l *RefusalLog) sweep(now time.Time) map[netip.Addr]int {
	if now.Sub(l.lastSweep) < time.Second {
		return nil
	}
	l.lastSweep = now
	var ended map[netip.Addr]int
	for ip, w := range l.sources {
		if now.Sub(w.start) < l.o.Interval {
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
