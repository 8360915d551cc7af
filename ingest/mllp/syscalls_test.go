package mllp

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
)

// countingListener hands out connections that count their Read and Write
// calls: each call on a TCP connection is at least one system call, so
// the counts bound what a message costs the server in reads and writes.
type countingListener struct {
	net.Listener
	mu     sync.Mutex
	reads  int
	writes [][]byte // what each Write call wrote
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

func (l *countingListener) counts() (reads int, writes [][]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads, append([][]byte(nil), l.writes...)
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.reads++
	c.l.mu.Unlock()
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.l.mu.Lock()
	c.l.writes = append(c.l.writes, bytes.Clone(p))
	c.l.mu.Unlock()
	return c.Conn.Write(p)
}

func TestServerReadsPipelinedFramesTogetherAndWritesEachAnswerInOneCall(t *testing.T) {
	noLeaks(t)
	ln := &countingListener{Listener: mustListen(t)}
	srv := NewServer("test", ServerConfig{Logger: quiet}, echo, nil)
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown(t.Context()) }()

	c := dialRaw(t, ln.Addr().String())
	const n = 100
	var out []byte
	for i := range n {
		out = AppendFrame(out, fmt.Appendf(nil, "MSH|^~\\&|%d", i))
	}
	if _, err := c.Write(out); err != nil { // every frame in one write
		t.Fatal(err)
	}
	r := NewReader(c, 0)
	for i := range n {
		if _, err := r.ReadFrame(); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	reads, writes := ln.counts()
	// The frames arrive together (about 2 KB in one loopback write): a
	// reader that takes what the socket holds needs a read or two for
	// all of them, plus the one waiting for more; a read per frame (or
	// per byte) would make at least n.
	if reads > 5 {
		t.Errorf("server made %d reads for %d pipelined frames, want at most 5", reads, n)
	}
	if len(writes) != n {
		t.Fatalf("server made %d writes for %d answers, want one each", len(writes), n)
	}
	for i, w := range writes {
		if want := AppendFrame(nil, fmt.Appendf(nil, "ACK:MSH|^~\\&|%d", i)); !bytes.Equal(w, want) {
			t.Fatalf("write %d = %q, want the whole frame %q", i, w, want)
		}
	}
}
