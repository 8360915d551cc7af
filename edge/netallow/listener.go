package netallow

import (
	"errors"
	"net"
	"sync"
)

// LimitListener wraps ln so that a, the listener's Admission, decides on
// every connection it accepts (the doors that serve through net/http and
// gRPC; the MLLP server asks its Admission itself). Accept closes at once,
// and skips, each connection a refuses (reported and logged by a first),
// and never waits on one: it closes it and accepts the next.
//
// A returned connection holds its slots until its Close (idempotent) is
// called. Accept errors of ln are returned as they are.
func LimitListener(ln net.Listener, a *Admission) net.Listener {
	return &limitListener{Listener: ln, a: a}
}

type limitListener struct {
	net.Listener
	a *Admission
}

// Accept returns the next admitted connection.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if release, ok := l.a.Admit(c.RemoteAddr()); ok {
			return &limitConn{Conn: c, release: release}, nil
		}
		_ = c.Close()
	}
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
