package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// HandshakeTimeout bounds each server handshake run by WrapListener.
const HandshakeTimeout = 10 * time.Second

// WrapListener returns a listener whose Accept returns *tls.Conn connections
// that have completed their handshake with r's current configuration.
//
// Unlike tls.NewListener, the handshake runs before Accept returns, in a
// goroutine per connection bounded by HandshakeTimeout, so that each failure
// is seen, counted in gateway_tls_handshake_failures_total and logged here
// (a failed handshake ends with a TLS alert and the connection is closed;
// Accept never returns it). Accept waits only for connections that finished
// their handshake, never behind a slow one. Returning the *tls.Conn itself
// keeps net/http's HTTP/2 negotiation (with Options.NextProtos "h2") and
// Request.TLS working.
//
// Each connection in its handshake holds a goroutine: put a
// netallow.LimitListener beneath to bound them. Errors of ln.Accept are
// returned by Accept in order. Close closes ln, aborts the handshakes in
// progress (not counted as failures) and makes Accept return net.ErrClosed.
func (r *Reloader) WrapListener(ln net.Listener) net.Listener {
	ctx, cancel := context.WithCancel(context.Background())
	l := &listener{Listener: ln, r: r, cfg: r.TLSConfig(), ctx: ctx, cancel: cancel,
		out: make(chan accepted), done: make(chan struct{})}
	go l.acceptLoop()
	return l
}

type listener struct {
	net.Listener
	r      *Reloader
	cfg    *tls.Config
	ctx    context.Context // cancelled by Close; parent of the handshakes
	cancel context.CancelFunc
	out    chan accepted // handshaken connections and accept errors, to Accept
	done   chan struct{} // closed by Close
	once   sync.Once
}

type accepted struct {
	conn net.Conn
	err  error
}

// Accept returns the next connection whose handshake succeeded, or the next
// error of the wrapped listener.
func (l *listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.out:
		return a.conn, a.err
	case <-l.done:
		return nil, &net.OpError{Op: "accept", Net: l.Addr().Network(), Addr: l.Addr(), Err: net.ErrClosed}
	}
}

// Close closes the wrapped listener and the connections still in their
// handshake. Connections already returned by Accept are the caller's.
func (l *listener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		close(l.done)
		l.cancel()
		err = l.Listener.Close()
	})
	return err
}

// acceptLoop accepts until the wrapped listener is closed, starting a
// handshake for each connection and passing errors on to Accept.
func (l *listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if !l.send(accepted{err: err}) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		go l.handshake(c)
	}
}

// handshake runs the server handshake of c and hands the result to Accept,
// or counts, logs and closes it.
func (l *listener) handshake(c net.Conn) {
	ctx, cancel := context.WithTimeout(l.ctx, HandshakeTimeout)
	defer cancel()
	tc := tls.Server(c, l.cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = c.Close()
		if l.ctx.Err() == nil { // not aborted by Close
			l.r.handshakeFailed(c.RemoteAddr(), err)
		}
		return
	}
	if !l.send(accepted{conn: tc}) {
		_ = tc.Close()
	}
}

// send waits until Accept takes a; false if the listener closed first.
func (l *listener) send(a accepted) bool {
	select {
	case l.out <- a:
		return true
	case <-l.done:
		return false
	}
}

// handshakeFailed counts and logs a failed server handshake. Failures that
// are about client certificates are warnings; the others (scanners, load
// balancer probes, resets) are logged at debug level.
func (r *Reloader) handshakeFailed(remote net.Addr, err error) {
	r.m.HandshakeFailed(r.name, err)
	reason := Classify(err)
	level := slog.LevelWarn
	if reason == ReasonOther {
		level = slog.LevelDebug
	}
	r.log.Log(context.Background(), level, "tls handshake failed",
		"remote", addrString(remote), "reason", reason, "error", err)
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}
