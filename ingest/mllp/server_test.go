package mllp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/hl7gw/gateway/edge/netallow"
	"github.com/hl7gw/gateway/internal/testwait"
)

var quiet = slog.New(slog.DiscardHandler)

// echo answers "ACK:" + payload.
var echo = HandlerFunc(func(_ context.Context, _ ConnInfo, p []byte) []byte {
	return append([]byte("ACK:"), p...)
})

// testServer is a Server serving a real TCP listener on 127.0.0.1.
type testServer struct {
	*Server
	addr     string
	m        *Metrics
	refusals *refusalCounts
	served   chan error // Serve's result
	stopped  bool
}

// refusalCounts are the refusals an Admission reported, by reason.
type refusalCounts struct {
	mu sync.Mutex
	n  map[netallow.Reason]int
}

func (r *refusalCounts) add(_ net.Addr, reason netallow.Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n[reason]++
}

// startServer serves cfg with an Admission that restricts nothing and
// counts the server's own refusals (tls_handshake, shutdown).
func startServer(t *testing.T, cfg ServerConfig, h Handler) *testServer {
	t.Helper()
	return startAdmitted(t, netallow.AdmissionOptions{}, cfg, h)
}

// startAdmitted serves cfg behind the Admission of o, whose refusals
// ts.rejected counts.
func startAdmitted(t *testing.T, o netallow.AdmissionOptions, cfg ServerConfig, h Handler) *testServer {
	t.Helper()
	rc := &refusalCounts{n: map[netallow.Reason]int{}}
	o.OnReject = rc.add
	cfg.Admission = netallow.NewAdmission(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	m := NewMetrics(prometheus.NewRegistry())
	ts := &testServer{Server: NewServer("test", cfg, h, m), addr: ln.Addr().String(), m: m, refusals: rc, served: make(chan error, 1)}
	go func() { ts.served <- ts.Serve(ln) }()
	t.Cleanup(func() {
		if !ts.stopped {
			ts.stop(t)
		}
	})
	return ts
}

// stop shuts the server down and checks that Serve returned nil.
func (ts *testServer) stop(t *testing.T) {
	t.Helper()
	ts.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	select {
	case err := <-ts.served:
		if err != nil {
			t.Errorf("Serve returned %v after Shutdown, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return after Shutdown")
	}
}

// serves reports whether a new connection gets an answer.
func (ts *testServer) serves() bool {
	c, err := Dial(context.Background(), ts.addr, nil)
	if err != nil {
		return false
	}
	defer c.Close()
	_, err = c.Send(context.Background(), []byte("m"))
	return err == nil
}

func (ts *testServer) frameErrors(reason string) float64 {
	return value(ts.m.errors.WithLabelValues("test", reason))
}

func (ts *testServer) rejected(reason netallow.Reason) float64 {
	ts.refusals.mu.Lock()
	defer ts.refusals.mu.Unlock()
	return float64(ts.refusals.n[reason])
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialClient(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expectClosed waits for the server to close c (read returns EOF or reset).
func expectClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		n, err := c.Read(buf)
		if err == nil {
			t.Fatalf("read %q, want the connection closed", buf[:n])
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection still open after 5s")
		}
		return
	}
}

// noLeaks checks that the goroutine count returns to its value at the start
// of the test once the test's cleanups ran.
func noLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		testwait.For(t, 5*time.Second, fmt.Sprintf("goroutines back to %d (now %d)", before, runtime.NumGoroutine()), func() bool {
			return runtime.NumGoroutine() <= before
		})
	})
}

func TestServerAnswersPipelinedMessagesInOrder(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, ServerConfig{}, echo)
	c := dialRaw(t, ts.addr)
	const n = 200
	var out []byte
	for i := range n {
		out = AppendFrame(out, fmt.Appendf(nil, "MSH|^~\\&|%d", i))
	}
	if _, err := c.Write(out); err != nil { // all frames before any answer
		t.Fatal(err)
	}
	r := NewReader(c, 0)
	for i := range n {
		p, err := r.ReadFrame()
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		if want := fmt.Sprintf("ACK:MSH|^~\\&|%d", i); string(p) != want {
			t.Fatalf("answer %d = %q, want %q", i, p, want)
		}
	}
	if got := value(ts.m.frames.WithLabelValues("test")); got != n {
		t.Fatalf("frames_total = %v, want %d", got, n)
	}
}

func TestServerServesConnectionsConcurrently(t *testing.T) {
	noLeaks(t)
	const conns, msgs = 6, 30
	var inside atomic.Int32
	allIn := make(chan struct{})
	var once sync.Once
	h := HandlerFunc(func(ctx context.Context, p ConnInfo, b []byte) []byte {
		// The first message of every connection waits until all
		// connections are inside the handler at once.
		if bytes.HasSuffix(b, []byte("|0")) {
			if inside.Add(1) == conns {
				once.Do(func() { close(allIn) })
			}
			select {
			case <-allIn:
			case <-time.After(5 * time.Second):
				return []byte("NOT-CONCURRENT")
			}
		}
		return echo(ctx, p, b)
	})
	ts := startServer(t, ServerConfig{}, h)
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for k := range conns {
		wg.Go(func() {
			c, err := Dial(context.Background(), ts.addr, nil)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for i := range msgs {
				msg := fmt.Sprintf("c%d|%d", k, i)
				ans, err := c.Send(context.Background(), []byte(msg))
				if err != nil {
					errs <- err
					return
				}
				if string(ans) != "ACK:"+msg {
					errs <- fmt.Errorf("answer %q to %q", ans, msg)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := value(ts.m.conns.WithLabelValues("test")); got != conns {
		t.Errorf("connections_total = %v, want %d", got, conns)
	}
}

func TestServerClosesConnectionOnFrameErrors(t *testing.T) {
	tests := []struct {
		name   string
		cfg    ServerConfig
		send   string
		reason string
		hangUp bool // the client closes its side after sending
	}{
		{name: "an oversized frame closes the connection", cfg: ServerConfig{MaxFrameSize: 100}, send: frame(strings.Repeat("x", 101)), reason: ReasonTooLarge},
		{name: "an oversized frame still arriving closes the connection", cfg: ServerConfig{MaxFrameSize: 100}, send: "\x0b" + strings.Repeat("x", 5000), reason: ReasonTooLarge},
		{name: "a slow sender hits the read timeout", cfg: ServerConfig{ReadTimeout: 150 * time.Millisecond}, send: "\x0bMSH|^~\\&|", reason: ReasonReadTimeout},
		{name: "garbage without a start block hits the idle timeout", cfg: ServerConfig{IdleTimeout: 150 * time.Millisecond}, send: "hello", reason: ReasonIdleTimeout},
		{name: "a silent connection hits the idle timeout", cfg: ServerConfig{IdleTimeout: 150 * time.Millisecond}, reason: ReasonIdleTimeout},
		{name: "a peer leaving mid-frame is a truncated frame", send: "\x0bMSH|^~\\&|", reason: ReasonTruncated, hangUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			ts := startServer(t, tt.cfg, echo)
			c := dialRaw(t, ts.addr)
			if tt.send != "" {
				if _, err := io.WriteString(c, tt.send); err != nil {
					t.Fatal(err)
				}
			}
			if tt.hangUp {
				c.(*net.TCPConn).CloseWrite()
			}
			expectClosed(t, c)
			testwait.For(t, 5*time.Second, "frame error metric "+tt.reason, func() bool { return ts.frameErrors(tt.reason) == 1 })
			testwait.For(t, 5*time.Second, "connections_active 0", func() bool { return value(ts.m.active.WithLabelValues("test")) == 0 })
		})
	}
}

func TestServerCountsDiscardedBytes(t *testing.T) {
	ts := startServer(t, ServerConfig{}, echo)
	c := dialClient(t, ts.addr)
	if _, err := io.WriteString(c.nc, "junk\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	if got := value(ts.m.discarded.WithLabelValues("test")); got != 5 {
		t.Fatalf("discarded_bytes_total = %v, want 5", got)
	}
}

func TestServerHandlerFailuresCloseTheConnection(t *testing.T) {
	tests := []struct {
		name   string
		h      HandlerFunc
		reason string
	}{
		{name: "a panicking handler closes only its connection", h: func(context.Context, ConnInfo, []byte) []byte { panic("boom") }, reason: ReasonHandlerPanic},
		{name: "a nil answer closes the connection unanswered", h: func(context.Context, ConnInfo, []byte) []byte { return nil }, reason: ReasonNoAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			noLeaks(t)
			h := HandlerFunc(func(ctx context.Context, p ConnInfo, b []byte) []byte {
				if string(b) == "MSH|x" {
					return tt.h(ctx, p, b)
				}
				return echo(ctx, p, b)
			})
			ts := startServer(t, ServerConfig{}, h)
			c := dialRaw(t, ts.addr)
			if err := WriteFrame(c, []byte("MSH|x")); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, c)
			testwait.For(t, 5*time.Second, "metric", func() bool { return ts.frameErrors(tt.reason) == 1 })
			// The server keeps serving other connections.
			cl := dialClient(t, ts.addr)
			if _, err := cl.Send(context.Background(), []byte("next")); err != nil {
				t.Fatalf("server stopped serving: %v", err)
			}
		})
	}
}

func TestServerMaxConns(t *testing.T) {
	noLeaks(t)
	ts := startAdmitted(t, netallow.AdmissionOptions{MaxConns: 2}, ServerConfig{}, echo)
	c1, c2 := dialClient(t, ts.addr), dialClient(t, ts.addr)
	for _, c := range []*Client{c1, c2} { // both accepted and tracked
		if _, err := c.Send(context.Background(), []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	extra := dialRaw(t, ts.addr)
	expectClosed(t, extra)
	testwait.For(t, 5*time.Second, "rejection metric", func() bool { return ts.rejected(netallow.RejectMaxConns) == 1 })
	c1.Close()
	testwait.For(t, 5*time.Second, "a free slot", ts.serves)
}

func TestServerLimitsConnectionsPerSourceAddress(t *testing.T) {
	noLeaks(t)
	ts := startAdmitted(t, netallow.AdmissionOptions{MaxConnsPerSource: 1}, ServerConfig{}, echo)
	c1 := dialClient(t, ts.addr)
	if _, err := c1.Send(context.Background(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, dialRaw(t, ts.addr))
	testwait.For(t, 5*time.Second, "rejection metric", func() bool { return ts.rejected(netallow.RejectPerSourceLimit) == 1 })
	c1.Close()
	testwait.For(t, 5*time.Second, "the source's slot is freed", ts.serves)
	if n := ts.cfg.Admission.Sources(); n > 1 {
		t.Fatalf("per-source map holds %d addresses, want at most 1", n)
	}
}

func TestServerClosesSourcesOutsideTheAllowList(t *testing.T) {
	noLeaks(t)
	allow, err := netallow.Parse([]string{"10.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	ts := startAdmitted(t, netallow.AdmissionOptions{Allow: allow}, ServerConfig{}, echo)
	expectClosed(t, dialRaw(t, ts.addr))
	testwait.For(t, 5*time.Second, "rejection metric", func() bool { return ts.rejected(netallow.RejectNotAllowed) == 1 })
	if n := ts.m.conns.WithLabelValues("test"); value(n) != 0 {
		t.Fatalf("%v connections served, want none", value(n))
	}
}

func TestShutdownAnswersInFlightMessage(t *testing.T) {
	noLeaks(t)
	entered, release := make(chan struct{}), make(chan struct{})
	var handlerCtxErr atomic.Value
	h := HandlerFunc(func(ctx context.Context, p ConnInfo, b []byte) []byte {
		close(entered)
		<-release
		handlerCtxErr.Store(fmt.Sprint(ctx.Err()))
		return echo(ctx, p, b)
	})
	ts := startServer(t, ServerConfig{}, h)
	busy, idle := dialClient(t, ts.addr), dialRaw(t, ts.addr)
	answered := make(chan error, 1)
	go func() {
		ans, err := busy.Send(context.Background(), []byte("in-flight"))
		if err == nil && string(ans) != "ACK:in-flight" {
			err = fmt.Errorf("answer %q", ans)
		}
		answered <- err
	}()
	<-entered
	ts.stopped = true
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()

	expectClosed(t, idle) // idle connections go at once
	if err := <-ts.served; err != nil {
		t.Fatalf("Serve = %v, want nil", err)
	}
	if _, err := net.Dial("tcp", ts.addr); err == nil {
		t.Error("listener still accepting after Shutdown started")
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v with a message in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-answered; err != nil {
		t.Fatalf("in-flight message not answered: %v", err)
	}
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if got := handlerCtxErr.Load(); got != "<nil>" {
		t.Fatalf("handler context error = %v, want none during a graceful shutdown", got)
	}
	if _, err := busy.Send(context.Background(), []byte("after")); err == nil {
		t.Fatal("connection still served after Shutdown")
	}
	if err := ts.Serve(mustListen(t)); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
}

func TestShutdownAnswersAFrameSentJustBeforeIt(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, ServerConfig{DrainGrace: 5 * time.Second}, echo)
	late := dialClient(t, ts.addr)
	if _, err := late.Send(context.Background(), []byte("first")); err != nil {
		t.Fatal(err)
	}
	ts.stopped = true
	shut := make(chan error, 1)
	go func() { shut <- ts.Shutdown(context.Background()) }()
	<-ts.served // shutdown has begun: the connection is idle and draining
	ans, err := late.Send(context.Background(), []byte("sent-at-shutdown"))
	if err != nil || string(ans) != "ACK:sent-at-shutdown" {
		t.Fatalf("a frame sent as the shutdown began got %q, %v; want its answer", ans, err)
	}
	select {
	case err := <-shut:
		if err != nil {
			t.Fatalf("Shutdown = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return once the connection had its answer")
	}
	if _, err := late.Send(context.Background(), []byte("after")); err == nil {
		t.Fatal("connection still served after its drain")
	}
}

func TestShutdownClosesAnIdleConnectionAfterTheGrace(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, ServerConfig{DrainGrace: 100 * time.Millisecond}, echo)
	idle := dialRaw(t, ts.addr)
	testwait.For(t, 5*time.Second, "the connection is served", func() bool { return value(ts.m.active.WithLabelValues("test")) == 1 })
	ts.stop(t)
	expectClosed(t, idle)
	if got := ts.frameErrors(ReasonIdleTimeout); got != 0 {
		t.Fatalf("a drained connection counted as idle timeout (%v)", got)
	}
}

func mustListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestShutdownDeadlineCancelsHandlers(t *testing.T) {
	noLeaks(t)
	entered := make(chan struct{})
	h := HandlerFunc(func(ctx context.Context, _ ConnInfo, _ []byte) []byte {
		close(entered)
		<-ctx.Done()
		return nil
	})
	ts := startServer(t, ServerConfig{}, h)
	c := dialRaw(t, ts.addr)
	if err := WriteFrame(c, []byte("MSH|stuck")); err != nil {
		t.Fatal(err)
	}
	<-entered
	ts.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	expectClosed(t, c)
	if err := <-ts.served; err != nil {
		t.Fatalf("Serve = %v", err)
	}
}

func TestServerLeaksNothingAfterClientsVanishMidFrame(t *testing.T) {
	noLeaks(t)
	ts := startServer(t, ServerConfig{}, echo)
	for i := range 20 {
		c := dialRaw(t, ts.addr)
		if _, err := io.WriteString(c, "\x0bMSH|^~\\&|"+strings.Repeat("y", i*100)); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	testwait.For(t, 5*time.Second, "all connections served and gone", func() bool {
		// active alone can be 0 before the last connections are accepted
		return value(ts.m.conns.WithLabelValues("test")) == 20 && value(ts.m.active.WithLabelValues("test")) == 0
	})
	// Some connections may be reset rather than truncated, depending on timing.
	if got := ts.frameErrors(ReasonTruncated) + ts.frameErrors(ReasonReadError); got != 20 {
		t.Fatalf("truncated+read_error = %v, want 20", got)
	}
	ts.stop(t)
}

func TestHandlersMayKeepThePayloadPastTheNextFrame(t *testing.T) {
	noLeaks(t)
	var (
		mu   sync.Mutex
		kept [][]byte
	)
	keep := HandlerFunc(func(_ context.Context, _ ConnInfo, p []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		kept = append(kept, p) // kept, not copied: as a pipeline holding a record
		return []byte("ACK")
	})
	ts := startServer(t, ServerConfig{}, keep)
	c := dialClient(t, ts.addr)
	defer c.Close()
	// Same length, so that a reused read buffer would hold the second
	// frame exactly where the first one was.
	// The large ones grow the read buffer past keepCap, which the reader
	// hands over instead of copying.
	big := func(fill string) string { return "MSH|big|" + strings.Repeat(fill, 3*keepCap) }
	frames := []string{"MSH|first|AAAA", "MSH|secnd|BBBB", big("D"), big("E"), "MSH|third|CCCC", big("F")}
	for _, f := range frames {
		if _, err := c.Send(context.Background(), []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for i, f := range frames {
		if string(kept[i]) != f {
			t.Fatalf("frame %d kept by the handler reads %.40q after later frames, want %.40q", i+1, kept[i], f)
		}
	}
}
