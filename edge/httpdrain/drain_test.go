package httpdrain

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// start serves h through a draining Server on a loopback port.
func start(t *testing.T, h http.Handler, grace time.Duration) (*Server, string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}, grace)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() { s.Close() })
	return s, ln.Addr().String(), served
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "stored") })

const post = "POST /fhir/Patient HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n{}"

// roundTrip writes one request on c and reads its response.
func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader) (*http.Response, error) {
	t.Helper()
	if _, err := io.WriteString(c, post); err != nil {
		return nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return nil, err
	}
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, err
}

func TestARequestSentOnAnIdleConnectionDuringShutdownIsAnswered(t *testing.T) {
	s, addr, served := start(t, ok, 5*time.Second)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	if resp, err := roundTrip(t, c, r); err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("first request: %v, %v; want 200 on a kept-alive connection", resp, err)
	}

	down := make(chan error, 1)
	go func() { down <- s.Shutdown(context.Background()) }()
	// Shutdown has begun (the listener refuses) while c is idle; plain
	// http.Server.Shutdown would already have closed c.
	waitRefused(t, addr)

	resp, err := roundTrip(t, c, r)
	if err != nil {
		t.Fatalf("request on the idle connection during shutdown: %v, want an answer", err)
	}
	if resp.StatusCode != 200 || !resp.Close {
		t.Errorf("answer %d with Close=%v, want 200 and Connection: close", resp.StatusCode, resp.Close)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("after the answer the connection gave %v, want EOF", err)
	}
	if err := <-down; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
	}
}

func TestShutdownWaitsForARequestInFlightAndClosesItsConnection(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(entered)
		<-release
		io.WriteString(w, "stored")
	})
	s, addr, _ := start(t, slow, time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, post); err != nil {
		t.Fatal(err)
	}
	<-entered
	down := make(chan error, 1)
	go func() { down <- s.Shutdown(context.Background()) }()
	waitRefused(t, addr)
	select {
	case err := <-down:
		t.Fatalf("Shutdown returned %v with a request still in flight", err)
	default:
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 200 || !resp.Close {
		t.Fatalf("in-flight request: %v, %v; want 200 with Connection: close", resp, err)
	}
	if err := <-down; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownWithNoConnectionOpenDoesNotWaitForTheGrace(t *testing.T) {
	s, _, _ := start(t, ok, time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v, want nil well before the one-hour grace", err)
	}
}

func TestShutdownPastItsContextReturnsTheContextError(t *testing.T) {
	entered := make(chan struct{})
	stuck := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(entered)
		<-r.Context().Done()
	})
	s, addr, _ := start(t, stuck, time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, post)
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v, want context.DeadlineExceeded", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close after a cut-short Shutdown: %v", err)
	}
}

func TestServeAfterShutdownReturnsErrServerClosed(t *testing.T) {
	s := New(&http.Server{Handler: ok}, 0)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve: %v, want http.ErrServerClosed", err)
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Errorf("the listener still accepts after Serve returned")
	}
}

func TestTheOriginalConnStateHookStillRuns(t *testing.T) {
	states := make(chan http.ConnState, 8)
	srv := &http.Server{Handler: ok, ConnState: func(_ net.Conn, st http.ConnState) { states <- st }}
	s := New(srv, 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	resp, err := http.Post("http://"+ln.Addr().String()+"/", "text/plain", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if st := <-states; st != http.StateNew {
		t.Errorf("first state %v, want new", st)
	}
}

// waitRefused waits until addr no longer accepts connections.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	for range 500 {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s still accepts connections after Shutdown began", addr)
}
