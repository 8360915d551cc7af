package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hl7gw/gateway/edge/netallow"
)

// connState is where a connection is in its read-handle-write cycle.
type connState uint8

const (
	stateIdle     connState = iota // waiting for the next start block
	stateActive                    // a frame started: receiving, handling or answering it
	stateDraining                  // idle when Shutdown began: a frame starting within the grace is still served
	stateClosed                    // closed by Shutdown
)

// conn is one served connection. Its goroutine (serve) owns all I/O; the
// Server only closes raw, under mu, from Shutdown.
type conn struct {
	s   *Server
	raw net.Conn // the accepted connection
	nc  net.Conn // raw, or the TLS connection over it
	// release frees the connection's per-source slot (idempotent).
	release func()

	mu    sync.Mutex
	state connState
	// drained: the connection has had its one shutdown grace.
	drained bool
}

// serve runs the connection until the peer leaves, an error occurs or the
// server shuts down. It always closes the connection and untracks it.
func (c *conn) serve() {
	s := c.s
	s.m.connOpened()
	defer func() {
		_ = c.raw.Close()
		s.m.connClosed()
		s.forget(c)
		s.wg.Done()
	}()
	log := s.log.With("remote", c.raw.RemoteAddr().String())
	info := ConnInfo{RemoteAddr: c.raw.RemoteAddr()}
	c.nc = c.raw
	if s.cfg.TLSConfig != nil {
		tc, err := c.handshake()
		if err != nil {
			if !c.isClosed() {
				s.cfg.Admission.Reject(c.raw.RemoteAddr(), netallow.RejectTLSHandshake)
				if s.cfg.OnTLSError != nil {
					s.cfg.OnTLSError(err)
				}
				log.Warn("mllp tls handshake failed", "reason", string(netallow.RejectTLSHandshake), "error", err)
			}
			return
		}
		st := tc.ConnectionState()
		info.TLS = &st
		c.nc = tc
	}

	r := NewReader(c.nc, s.cfg.MaxFrameSize)
	r.onStart = c.frameStarted
	var wbuf []byte
	var discarded int64
	for {
		// The idle deadline is set before the state turns idle, so that a
		// Shutdown's shorter drain deadline is never overwritten.
		_ = c.nc.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		if !c.setIdle() {
			return
		}
		payload, err := r.TakeFrame() // the handler's own bytes (see Handler)
		if n := r.Discarded() - discarded; n > 0 {
			s.m.discard(n)
			c.unframed(log, n)
		}
		discarded = r.Discarded()
		if err != nil {
			c.readFailed(log, err, r.InFrame())
			return
		}
		s.m.frame(len(payload))
		answer, ok := c.handle(log, info, payload)
		if !ok {
			return
		}
		if len(answer) == 0 {
			continue // the handler chose to answer nothing (e.g. HL7 MSH-15 = NE)
		}
		_ = c.nc.SetWriteDeadline(time.Now().Add(s.cfg.WriteTimeout))
		if cap(wbuf) > keepCap {
			wbuf = nil
		}
		wbuf = AppendFrame(wbuf[:0], answer)
		if _, err := c.nc.Write(wbuf); err != nil {
			s.m.frameError(ReasonWriteError)
			log.Warn("mllp answer not written, closing", "reason", ReasonWriteError, "error", err)
			return
		}
	}
}

// handshake runs the TLS server handshake within the read timeout.
func (c *conn) handshake() (*tls.Conn, error) {
	ctx, cancel := context.WithTimeout(c.s.base, c.s.cfg.ReadTimeout)
	defer cancel()
	tc := tls.Server(c.raw, c.s.cfg.TLSConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fmt.Errorf("mllp: tls handshake: %w", err)
	}
	return tc, nil
}

// handle calls the handler, turning a panic or a nil answer into a closed
// connection (ok false).
func (c *conn) handle(log *slog.Logger, info ConnInfo, payload []byte) (answer []byte, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			c.s.m.frameError(ReasonHandlerPanic)
			// The panic value may quote the message: log only its type.
			log.Error("mllp handler panicked, closing", "reason", ReasonHandlerPanic, "panic_type", fmt.Sprintf("%T", p))
			answer, ok = nil, false
		}
	}()
	answer = c.s.h.HandleMLLP(c.s.base, info, payload)
	if answer == nil {
		c.s.m.frameError(ReasonNoAnswer)
		log.Warn("mllp handler gave no answer, closing", "reason", ReasonNoAnswer)
		return nil, false
	}
	return answer, true
}

// readFailed logs and counts why reading stopped.
func (c *conn) readFailed(log *slog.Logger, err error, inFrame bool) {
	if c.isClosed() || (!inFrame && c.isDraining()) {
		log.Debug("mllp connection closed by shutdown")
		return
	}
	var ne net.Error
	var reason string
	switch {
	case errors.Is(err, io.EOF):
		log.Debug("mllp connection closed by peer")
		return
	case errors.Is(err, ErrFrameTooLarge):
		reason = ReasonTooLarge
	case errors.Is(err, io.ErrUnexpectedEOF):
		reason = ReasonTruncated
	case errors.As(err, &ne) && ne.Timeout() && inFrame:
		reason = ReasonReadTimeout
	case errors.As(err, &ne) && ne.Timeout():
		reason = ReasonIdleTimeout
	case inFrame:
		reason = ReasonTruncated
	default:
		reason = ReasonReadError
	}
	c.s.m.frameError(reason)
	level := slog.LevelWarn
	if reason == ReasonIdleTimeout {
		level = slog.LevelInfo
	}
	log.Log(context.Background(), level, "mllp connection closed", "reason", reason, "error", err)
}

// frameStarted is the Reader's start-block hook: the connection becomes busy
// and the whole frame must arrive within the read timeout.
func (c *conn) frameStarted() {
	c.mu.Lock()
	if c.state == stateIdle || c.state == stateDraining {
		c.state = stateActive
	}
	c.mu.Unlock()
	_ = c.nc.SetReadDeadline(time.Now().Add(c.s.cfg.ReadTimeout))
}

// setIdle marks the connection idle before it waits for the next frame. Once
// the server is shutting down, a connection that has not had its grace yet
// drains (see drain) instead: its sender may have written the next frame
// right after the answer. It reports false (and marks the connection
// closed) when the connection is done.
func (c *conn) setIdle() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateClosed {
		return false
	}
	if c.s.closing.Load() {
		if c.drained {
			c.state = stateClosed
			return false
		}
		c.drain()
		return true
	}
	c.state = stateIdle
	return true
}

func (c *conn) isDraining() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateDraining
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state == stateClosed
}

// drainIfIdle drains a connection waiting for a frame. A busy connection
// drains when it becomes idle after its answer (setIdle sees the shutdown).
func (c *conn) drainIfIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == stateIdle {
		c.drain()
	}
}

// drain gives the connection DrainGrace, once, to start one more frame: a
// frame the sender wrote just before the shutdown or right after its last
// answer (already in the socket or the reader's buffer) is still read,
// handled and answered, so that a message fully sent is not left
// unanswered. If none starts within the grace the read times out and the
// connection closes. c.mu is held.
func (c *conn) drain() {
	c.drained = true
	c.state = stateDraining
	_ = c.raw.SetReadDeadline(time.Now().Add(c.s.cfg.DrainGrace)) // raw: c.nc may still be changing during a TLS handshake
}

// forceClose closes the connection whatever it is doing.
func (c *conn) forceClose() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.state = stateClosed
	_ = c.raw.Close()
}
