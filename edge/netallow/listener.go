package netallow

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
)

// Rejection reasons passed to LimitListener's onReject.
const (
	RejectNotAllowed     = "not_allowed"      // the source is not in the allow-list
	RejectPerSourceLimit = "per_source_limit" // the source holds its maximum of connections
	RejectMaxConns       = "max_conns"        // the listener holds its maximum of connections
)

// LimitListener wraps ln for a door that has no limits of its own (HTTP,
// gRPC). Accept closes at once, and skips, each connection whose source is
// not allowed by allow, or that would exceed perSource's limit for its
// source, or max open connections for the listener (max <= 0: unlimited);
// it calls onReject (if not nil) with the remote address and one of the
// Reject reasons, from the goroutine calling Accept, so the callback must
// not block. Checks run in that order. Accept never waits on a rejected
// connection: it closes it and accepts the next.
//
// A returned connection holds its slots until its Close (idempotent) is
// called. allow and perSource may be nil (no restriction). Accept errors of
// ln are returned as they are.
func LimitListener(ln net.Listener, allow *List, perSource *PerSource, max int, onReject func(addr net.Addr, reason string)) net.Listener {
	return &limitListener{Listener: ln, allow: allow, perSource: perSource, max: int64(max), onReject: onReject}
}

type limitListener struct {
	net.Listener
	allow     *List
	perSource *PerSource
	max       int64
	onReject  func(net.Addr, string)
	open      atomic.Int64 // connections returned and not yet closed
}

// Accept returns the next admitted connection.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, reason := l.admit(c.RemoteAddr())
		if reason == "" {
			return &limitConn{Conn: c, release: release}, nil
		}
		// Count before closing: whoever sees the close must also find the
		// refusal counted.
		if l.onReject != nil {
			l.onReject(c.RemoteAddr(), reason)
		}
		_ = c.Close()
	}
}

// admit takes the slots for a connection from addr, or names why not.
func (l *limitListener) admit(addr net.Addr) (release func(), reason string) {
	if !l.allow.Allows(addr) {
		return nil, RejectNotAllowed
	}
	releaseSource, ok := l.perSource.Acquire(addr)
	if !ok {
		return nil, RejectPerSourceLimit
	}
	if l.max > 0 && l.open.Add(1) > l.max {
		l.open.Add(-1)
		releaseSource()
		return nil, RejectMaxConns
	}
	return func() {
		if l.max > 0 {
			l.open.Add(-1)
		}
		releaseSource()
	}, ""
}

// limitConn gives its slots back when closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Close closes the connection and, the first time, frees its slots.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite shuts down the writing side when the wrapped connection can
// (a *net.TCPConn can), so that servers can end a connection gracefully.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// NetConn returns the wrapped connection, as tls.Conn.NetConn does. Closing
// it directly does not free the slots.
func (c *limitConn) NetConn() net.Conn { return c.Conn }
