package embedded

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxAcceptBackoff bounds the wait between accept retries, as net/http's.
const maxAcceptBackoff = time.Second

// keepAccepting is the listener handed to kfake. kfake's accept loop ends
// for good on the first error Accept returns (and closes the listener),
// so one "too many open files" would leave the broker deaf to every new
// connection while its old ones keep working. Accept therefore retries
// transient errors (out of file descriptors or memory, an aborted
// connection) with a backoff of 5 ms doubling up to one second, as
// net/http does, and returns only when the listener is closed or fails
// otherwise.
//
// With max > 0 it also holds at most max connections at once: past it a
// new connection is closed at once, so that clients of the broker cannot
// take the file descriptors of the gateway's doors.
type keepAccepting struct {
	net.Listener
	log *slog.Logger
	max int64

	open      atomic.Int64 // connections handed out and not yet closed
	retries   atomic.Int64 // transient accept errors survived
	refused   atomic.Int64 // connections closed for being past max
	lastWarn  atomic.Int64 // unix nanos of the last refusal warning
	closed    chan struct{}
	closeOnce sync.Once
}

func newKeepAccepting(ln net.Listener, max int, log *slog.Logger) *keepAccepting {
	return &keepAccepting{Listener: ln, log: log, max: int64(max), closed: make(chan struct{})}
}

// Accept returns the next connection within the limit, retrying transient
// errors until the listener is closed.
func (l *keepAccepting) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !transientAcceptError(err) {
				return nil, err
			}
			l.retries.Add(1)
			backoff = min(max(2*backoff, 5*time.Millisecond), maxAcceptBackoff)
			l.log.Warn("embedded kafka: accept failed, retrying", "error", err.Error(), "backoff", backoff.String())
			t := time.NewTimer(backoff)
			select {
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			continue
		}
		backoff = 0
		if l.max > 0 && l.open.Add(1) > l.max {
			l.open.Add(-1)
			_ = c.Close()
			l.refuse(c.RemoteAddr())
			continue
		}
		if l.max <= 0 {
			l.open.Add(1)
		}
		return &countedConn{Conn: c, l: l}, nil
	}
}

// refuse counts a connection past the limit and warns at most every 10s.
func (l *keepAccepting) refuse(addr net.Addr) {
	n := l.refused.Add(1)
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(10*time.Second) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	l.log.Warn("embedded kafka: connection refused, the broker holds its maximum", "remote", addr.String(),
		"max_conns", l.max, "refused_total", n)
}

// Close closes the listener and ends a pending retry wait.
func (l *keepAccepting) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// transientAcceptError reports accept errors that pass: out of file
// descriptors (EMFILE, ENFILE), of buffers or memory, a connection reset
// or aborted before it was accepted, an interrupted or timed-out call.
func transientAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN, syscall.EPROTO, syscall.EPERM} {
		if errors.Is(err, e) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// countedConn gives its slot back once, when closed.
type countedConn struct {
	net.Conn
	l    *keepAccepting
	once sync.Once
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.open.Add(-1) })
	return err
}
