package netallow

import (
	"errors"
	"net"
	"testing"
	"time"
)

type rejection struct {
	ip     string
	reason Reason
}

// harness serves a LimitListener on 127.0.0.1: accepted connections get
// "+" and are kept open until the test closes them.
type harness struct {
	t        *testing.T
	addr     string
	accepted chan net.Conn
	rejected chan rejection
}

func newHarness(t *testing.T, allow *List, perSource, max int) *harness {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, addr: ln.Addr().String(), accepted: make(chan net.Conn, 64), rejected: make(chan rejection, 64)}
	ll := LimitListener(ln, NewAdmission(AdmissionOptions{Allow: allow, MaxConnsPerSource: perSource, MaxConns: max,
		OnReject: func(a net.Addr, reason Reason) { h.rejected <- rejection{a.(*net.TCPAddr).IP.String(), reason} }}))
	t.Cleanup(func() { _ = ll.Close() })
	go func() {
		for {
			c, err := ll.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("+"))
			h.accepted <- c
		}
	}()
	return h
}

// dial connects from src and reports whether the server admitted the
// connection ("+") or closed it.
func (h *harness) dial(src string) (admitted bool) {
	h.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatalf("dial from %s: %v", src, err)
	}
	h.t.Cleanup(func() { _ = c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		h.t.Fatalf("from %s: neither admitted nor closed", src)
	}
	return n == 1
}

// server returns the server side of the connection admitted last.
func (h *harness) server() net.Conn {
	h.t.Helper()
	select {
	case c := <-h.accepted:
		return c
	case <-time.After(5 * time.Second):
		h.t.Fatal("no connection accepted")
		return nil
	}
}

func (h *harness) wantRejected(ip string, reason Reason) {
	h.t.Helper()
	select {
	case r := <-h.rejected:
		if r != (rejection{ip, reason}) {
			h.t.Errorf("onReject(%s, %s), want (%s, %s)", r.ip, r.reason, ip, reason)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("onReject not called for %s (%s)", ip, reason)
	}
}

func TestLimitListenerAllowList(t *testing.T) {
	allow, err := Parse([]string{"10.0.0.0/8", "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, allow, 0, 0)
	for range 20 { // Accept goes on past rejected connections
		if h.dial("127.0.0.1") {
			t.Fatal("127.0.0.1 admitted, not in the list")
		}
		h.wantRejected("127.0.0.1", RejectNotAllowed)
	}
	if !h.dial("127.0.0.2") {
		t.Fatal("127.0.0.2 refused, in the list")
	}
	if _, ok := h.server().(*limitConn); !ok {
		t.Error("admitted connection is not wrapped")
	}
}

func TestLimitListenerPerSource(t *testing.T) {
	h := newHarness(t, nil, 2, 0)
	if !h.dial("127.0.0.1") || !h.dial("127.0.0.1") {
		t.Fatal("the first two connections of a source refused")
	}
	first := h.server()
	h.server()
	if h.dial("127.0.0.1") {
		t.Fatal("a third connection from the same source admitted")
	}
	h.wantRejected("127.0.0.1", RejectPerSourceLimit)
	if !h.dial("127.0.0.2") {
		t.Fatal("another source refused")
	}
	h.server()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err == nil {
		t.Error("second Close reported no error from the closed connection")
	}
	if !h.dial("127.0.0.1") {
		t.Fatal("slot not freed by Close")
	}
	h.server()
	if h.dial("127.0.0.1") {
		t.Fatal("a second Close freed a second slot")
	}
	h.wantRejected("127.0.0.1", RejectPerSourceLimit)
}

func TestLimitListenerMaxConns(t *testing.T) {
	h := newHarness(t, nil, 1, 2)
	if !h.dial("127.0.0.1") || !h.dial("127.0.0.2") {
		t.Fatal("connections under the limit refused")
	}
	a := h.server()
	h.server()
	if h.dial("127.0.0.3") {
		t.Fatal("a connection over the listener's limit admitted")
	}
	h.wantRejected("127.0.0.3", RejectMaxConns)
	_ = a.Close()
	_ = a.Close()
	// 127.0.0.3's per-source slot was given back when max_conns refused it.
	if !h.dial("127.0.0.3") {
		t.Fatal("refused after a slot was freed")
	}
	h.server()
	if h.dial("127.0.0.4") {
		t.Fatal("a repeated Close freed a second listener slot")
	}
	h.wantRejected("127.0.0.4", RejectMaxConns)
}

func TestLimitListenerChecksInOrder(t *testing.T) {
	allow, _ := Parse([]string{"127.0.0.1"})
	h := newHarness(t, allow, 1, 1)
	if !h.dial("127.0.0.1") {
		t.Fatal("first connection refused")
	}
	h.server()
	if h.dial("127.0.0.2") {
		t.Fatal("unlisted source admitted")
	}
	h.wantRejected("127.0.0.2", RejectNotAllowed) // not max_conns: the list comes first
	if h.dial("127.0.0.1") {
		t.Fatal("second connection admitted")
	}
	h.wantRejected("127.0.0.1", RejectPerSourceLimit) // the source's limit before the listener's
}

func TestLimitListenerPassesAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ll := LimitListener(ln, nil)
	_ = ll.Close()
	if _, err := ll.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close = %v, want net.ErrClosed", err)
	}
}
