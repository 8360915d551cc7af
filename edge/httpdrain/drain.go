// Package httpdrain shuts an HTTP/1.1 server down without cutting off a
// request that a client has already sent on a kept-alive connection.
//
// net/http's Server.Shutdown closes every connection it considers idle at
// once. A connection is idle from the end of one response until the server
// goroutine has read the first byte of the next request, so a request
// written just before (or while) Shutdown runs can find its connection
// closed under it. The client sees a transport error, not an answer, and
// must not retry a POST by itself: the sender of a FHIR resource is left
// not knowing whether it was stored. On a loaded two-core machine that
// window is wide enough to hit in tests.
//
// A Server shuts down in three steps instead:
//
//  1. every response from then on carries "Connection: close", so a
//     connection closes after the answer it is writing;
//  2. the listener is closed: no new connection is accepted;
//  3. for up to the grace period (or until no connection is open) idle
//     connections may still start one more request, which is answered;
//     then http.Server.Shutdown closes what is still idle and waits for
//     the requests in flight.
package httpdrain

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultGrace is the grace period of New when grace is zero. It is the
// same as the MLLP door's drain grace.
const DefaultGrace = 250 * time.Millisecond

// Server is an http.Server with a draining Shutdown. Its methods are safe
// for concurrent use; Serve may be called once.
type Server struct {
	srv     *http.Server
	grace   time.Duration
	closing atomic.Bool
	open    atomic.Int64 // connections accepted and not yet closed or hijacked

	mu sync.Mutex
	ln *onceCloseListener
}

// New wraps srv, whose Handler and ConnState it replaces with wrappers
// that call the originals. grace bounds step 3 of Shutdown; zero means
// DefaultGrace. srv must not be used directly afterwards.
func New(srv *http.Server, grace time.Duration) *Server {
	if grace <= 0 {
		grace = DefaultGrace
	}
	s := &Server{srv: srv, grace: grace}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&closingWriter{ResponseWriter: w, s: s}, r)
	})
	next := srv.ConnState
	srv.ConnState = func(c net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
		if next != nil {
			next(c, st)
		}
	}
	return s
}

// Serve accepts connections on ln until Shutdown or Close. It blocks and
// always returns a non-nil error: http.ErrServerClosed after Shutdown or
// Close, otherwise the error that stopped accepting.
func (s *Server) Serve(ln net.Listener) error {
	ocl := &onceCloseListener{Listener: ln}
	s.mu.Lock()
	s.ln = ocl
	s.mu.Unlock()
	if s.closing.Load() {
		ocl.Close()
		return http.ErrServerClosed
	}
	err := s.srv.Serve(ocl)
	if s.closing.Load() {
		return http.ErrServerClosed
	}
	return err
}

// Shutdown stops accepting, lets idle connections send one more request
// for up to the grace period, then waits for every request in flight to be
// answered. It blocks until then or until ctx ends; past ctx it returns
// ctx's error and the remaining connections stay open (call Close to cut
// them), as http.Server.Shutdown does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.closeListener()
	deadline := time.NewTimer(s.grace)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.open.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return s.srv.Shutdown(ctx)
		case <-tick.C:
		}
	}
	return s.srv.Shutdown(ctx)
}

// Close closes the listener and every connection at once, answered or not.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.closeListener()
	return s.srv.Close()
}

func (s *Server) closeListener() {
	s.mu.Lock()
	ln := s.ln
	s.mu.Unlock()
	if ln != nil {
		ln.Close()
	}
}

// closingWriter adds "Connection: close" to a response whose header is
// written after Shutdown began, including one whose request arrived
// before: net/http then closes the connection after it, and its HTTP/2
// server turns the header into a GOAWAY.
type closingWriter struct {
	http.ResponseWriter
	s           *Server
	wroteHeader bool
}

func (w *closingWriter) WriteHeader(code int) {
	if !w.wroteHeader && (code >= 200 || code == http.StatusSwitchingProtocols) { // 1xx are informational
		w.wroteHeader = true
		if w.s.closing.Load() {
			w.Header().Set("Connection", "close")
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *closingWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

// Flush flushes the response if the underlying writer can.
func (w *closingWriter) Flush() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *closingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// onceCloseListener closes its listener once: http.Server.Shutdown closes
// it again, and that second close must not turn into an error.
type onceCloseListener struct {
	net.Listener
	once sync.Once
	err  error
}

func (l *onceCloseListener) Close() error {
	l.once.Do(func() { l.err = l.Listener.Close() })
	if errors.Is(l.err, net.ErrClosed) {
		return nil
	}
	return l.err
}
