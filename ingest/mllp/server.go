package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hl7gw/gateway/edge/netallow"
)

// Handler answers one message. The returned bytes are the answer payload
// (unframed, typically an HL7 ACK); nil means "cannot answer": the server
// then closes the connection without writing, so the sender resends later;
// an empty non-nil slice means "nothing to answer" (HL7 enhanced mode with
// MSH-15 = NE): nothing is written and the connection reads the next frame.
//
// HandleMLLP is called sequentially per connection (answers go back in the
// order the messages came) and concurrently across connections. payload is
// the handler's own: the server reuses its read buffer for the next frame
// but hands each frame over in bytes of its own, so a handler may keep it
// (a record whose publish timed out may still be in the producer's hands
// while the next frame is read) and it stays byte-exact. ctx is cancelled
// only when a Shutdown deadline expires (in-flight messages are otherwise
// allowed to finish); a handler should then answer promptly (or return nil).
type Handler interface {
	HandleMLLP(ctx context.Context, peer ConnInfo, payload []byte) []byte
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, peer ConnInfo, payload []byte) []byte

// HandleMLLP calls f.
func (f HandlerFunc) HandleMLLP(ctx context.Context, peer ConnInfo, payload []byte) []byte {
	return f(ctx, peer, payload)
}

// ConnInfo describes the connection a message came on.
type ConnInfo struct {
	RemoteAddr net.Addr
	TLS        *tls.ConnectionState // nil on plain TCP
}

// ErrServerClosed is returned by Serve when called after Shutdown.
var ErrServerClosed = errors.New("mllp: server closed")

// ServerConfig configures a Server. Zero values mean the defaults.
type ServerConfig struct {
	MaxFrameSize int           // payload limit; default DefaultMaxFrameSize (1 MiB)
	ReadTimeout  time.Duration // max time to receive one whole frame once its start block arrived; also bounds the TLS handshake; default 30s
	IdleTimeout  time.Duration // max time between frames (from the last answer to the next start block); default 5m
	WriteTimeout time.Duration // max time to write one answer; default 30s
	// DrainGrace is how long Shutdown lets an idle connection start one
	// more frame (one its sender wrote just before); default 250ms.
	DrainGrace time.Duration
	// Admission decides on every accepted connection before any byte is
	// read or any TLS work is done (source allow-list, per-source and
	// listener limits); the server reports its own refusals through it
	// too (tls_handshake, shutdown). nil admits every connection and
	// counts nothing.
	Admission *netallow.Admission
	TLSConfig *tls.Config // nil = plain TCP
	// OnTLSError, when set, is told of every failed TLS handshake (after
	// it is reported to Admission as tls_handshake), for finer metrics.
	OnTLSError func(error)
	Logger     *slog.Logger // default slog.Default()
}

func (c ServerConfig) withDefaults() ServerConfig {
	if c.MaxFrameSize <= 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 30 * time.Second
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 5 * time.Minute
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = 30 * time.Second
	}
	if c.DrainGrace <= 0 {
		c.DrainGrace = 250 * time.Millisecond
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Server accepts MLLP connections and serves each in its own goroutine:
// read a frame, call the Handler, write its answer, read the next frame.
//
// Oversized frames, truncated frames, read/idle timeouts and write errors
// close the connection with a log line (reason, peer, sizes, never content)
// and a metric. A Server is safe for concurrent use; it can Serve several
// listeners at once.
type Server struct {
	name string
	cfg  ServerConfig
	h    Handler
	m    *listenerMetrics
	log  *slog.Logger

	// base is the handlers' context: not cancelled when Shutdown starts,
	// only when its deadline expires (or when it returns).
	base       context.Context
	cancelBase context.CancelFunc

	closing   atomic.Bool
	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	wg        sync.WaitGroup // one per tracked connection
	unframed  logLimiter     // log lines about bytes outside frames
}

// NewServer returns a Server named name (the `listener` metric label and
// log attribute) that passes messages to h. m may be nil.
func NewServer(name string, cfg ServerConfig, h Handler, m *Metrics) *Server {
	cfg = cfg.withDefaults()
	base, cancel := context.WithCancel(context.Background())
	log := cfg.Logger.With("listener", name)
	return &Server{
		name:       name,
		cfg:        cfg,
		h:          h,
		m:          m.forListener(name),
		log:        log,
		base:       base,
		cancelBase: cancel,
		listeners:  make(map[net.Listener]struct{}),
		conns:      make(map[*conn]struct{}),
	}
}

// Serve accepts connections on ln until Shutdown and blocks until then. It
// returns nil after Shutdown, ErrServerClosed if Shutdown came first (ln is
// then closed), or the listener's error when ln fails (net.ErrClosed because
// someone else closed it). Transient accept errors (out of file descriptors)
// are logged and retried with a backoff of up to one second.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrServerClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, ln)
		s.mu.Unlock()
	}()
	s.log.Info("mllp listening", "addr", ln.Addr().String(), "tls", s.cfg.TLSConfig != nil)

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("mllp: accept: %w", err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("mllp accept failed, retrying", "error", err, "backoff", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		s.track(nc)
	}
}

// track registers nc and starts its goroutine, or refuses it: the
// Admission first (which reports and logs its refusals), then a server
// that is shutting down.
func (s *Server) track(nc net.Conn) {
	release, ok := s.cfg.Admission.Admit(nc.RemoteAddr())
	if !ok {
		_ = nc.Close()
		return
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		release()
		s.cfg.Admission.Reject(nc.RemoteAddr(), netallow.RejectShutdown) // counted before the peer sees the close
		_ = nc.Close()
		return
	}
	c := &conn{s: s, raw: nc, release: release}
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
}

func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.release()
}

// Shutdown stops accepting (closing every listener, so Serve returns nil),
// lets each busy connection finish the message it is receiving or handling
// and write its answer, and gives every connection, once idle, DrainGrace
// to start one more frame (a message sent just before, or right after the
// last answer, is answered, not dropped) before closing it. It blocks until every connection is gone (and returns nil) or
// ctx ends; then it cancels the handlers' context, force-closes the
// remaining connections and returns ctx's error. Connection goroutines end
// as soon as their handler returns. Shutdown may be called more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	for ln := range s.listeners {
		_ = ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.drainIfIdle()
	}

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancelBase()
		return nil
	case <-ctx.Done():
	}
	s.cancelBase()
	s.mu.Lock()
	n := len(s.conns)
	for c := range s.conns {
		c.forceClose()
	}
	s.mu.Unlock()
	s.log.Warn("mllp shutdown deadline reached, connections force-closed", "connections", n)
	return fmt.Errorf("mllp: shutdown: %w", ctx.Err())
}
