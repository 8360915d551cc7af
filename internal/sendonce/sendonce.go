// Package sendonce is the tests' one MLLP exchange: dial, send one frame,
// read its answer, close; and Serve, the other end: an MLLP server on a
// test's listener until the test ends. Suites that talk MLLP one message
// at a time (end-to-end, scale-out, interop, edge, door and cluster tests)
// use it instead of copies of either. It is for tests only; nothing on the
// data path imports it. Load and long-lived connections belong to package
// loadgen and mllp.Client; package mllp's own tests cannot import it.
package sendonce

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/mllp"
)

// Timeout bounds one exchange in Raw and ACK: dial, send and answer.
const Timeout = 20 * time.Second

// Exchange dials addr (over TLS with tlsCfg when it is not nil), sends msg
// as one frame, returns the answer and closes the connection. ctx bounds
// the whole exchange.
func Exchange(ctx context.Context, addr string, tlsCfg *tls.Config, msg []byte) ([]byte, error) {
	c, err := mllp.Dial(ctx, addr, tlsCfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ans, err := c.Send(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	return ans, nil
}

// ExchangeACK is Exchange whose answer is read with hl7.ParseACK.
func ExchangeACK(ctx context.Context, addr string, tlsCfg *tls.Config, msg []byte) (hl7.ACKInfo, error) {
	ans, err := Exchange(ctx, addr, tlsCfg, msg)
	if err != nil {
		return hl7.ACKInfo{}, err
	}
	info, err := hl7.ParseACK(ans)
	if err != nil {
		return hl7.ACKInfo{}, fmt.Errorf("answer %q: %w", ans, err)
	}
	return info, nil
}

// Serve runs srv on ln until the test ends, then shuts it down (within
// five seconds: connections still open after that are closed), and
// returns ln's address.
func Serve(tb testing.TB, ln net.Listener, srv *mllp.Server) string {
	tb.Helper()
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// Listen is a loopback listener on a free port; failing to open one fails
// the test.
func Listen(tb testing.TB) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	return ln
}

// Raw sends msg in plain TCP within Timeout and returns the answer; any
// error fails the test.
func Raw(tb testing.TB, addr string, msg []byte) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	ans, err := Exchange(ctx, addr, nil, msg)
	if err != nil {
		tb.Fatalf("MLLP exchange with %s: %v", addr, err)
	}
	return ans
}

// ACK sends msg in plain TCP within Timeout and returns the answer read by
// hl7.ParseACK; any error, an unreadable answer included, fails the test.
func ACK(tb testing.TB, addr string, msg []byte) hl7.ACKInfo {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	info, err := ExchangeACK(ctx, addr, nil, msg)
	if err != nil {
		tb.Fatalf("MLLP exchange with %s: %v", addr, err)
	}
	return info
}
