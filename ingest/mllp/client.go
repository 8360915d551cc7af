package mllp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// ErrClientBroken is returned by Send after an earlier Send failed: the
// connection may hold a late answer to the failed message, so it is closed
// rather than reused. Dial again.
var ErrClientBroken = errors.New("mllp: connection unusable after an earlier failure")

// Client is an MLLP client for one connection: it sends a frame and waits
// for the answer frame before the next send. Send calls are serialised; a
// Client is safe for concurrent use but gains nothing from it (open more
// Clients for parallelism).
type Client struct {
	nc net.Conn

	mu     sync.Mutex
	r      *Reader
	wbuf   []byte
	broken error
}

// Dial connects to addr ("host:port"), with TLS when tlsCfg is not nil
// (ServerName defaults to addr's host). It blocks until connected and, with
// TLS, handshaken, or until ctx ends.
func Dial(ctx context.Context, addr string, tlsCfg *tls.Config) (*Client, error) {
	nc, err := DialConn(ctx, addr, tlsCfg)
	if err != nil {
		return nil, err
	}
	return &Client{nc: nc, r: NewReader(nc, DefaultMaxFrameSize)}, nil
}

// DialConn is Dial's connection without the client around it, for senders
// that frame and read on their own (the load generator): TCP to addr, then
// the TLS handshake when tlsCfg is not nil (ServerName defaults to addr's
// host), bounded by ctx.
func DialConn(ctx context.Context, addr string, tlsCfg *tls.Config) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("mllp: dial: %w", err)
	}
	if tlsCfg == nil {
		return nc, nil
	}
	cfg := tlsCfg.Clone()
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(addr); err == nil {
			cfg.ServerName = host
		}
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("mllp: tls handshake: %w", err)
	}
	return tc, nil
}

// LocalAddr returns the client's local address.
func (c *Client) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// Send writes payload as one frame and blocks until the answer frame
// arrives, ctx ends (its deadline is honoured), or the connection fails.
// The answer is a fresh copy owned by the caller. After any error the
// connection is closed and later calls return ErrClientBroken (wrapped).
// Answers larger than DefaultMaxFrameSize are an error.
func (c *Client) Send(ctx context.Context, payload []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken != nil {
		return nil, fmt.Errorf("%w: %w", ErrClientBroken, c.broken)
	}
	answer, err := c.send(ctx, payload)
	if err != nil {
		c.broken = err
		_ = c.nc.Close()
		return nil, err
	}
	return answer, nil
}

func (c *Client) send(ctx context.Context, payload []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("mllp: send: %w", err)
	}
	deadline, _ := ctx.Deadline() // zero: none
	if err := c.nc.SetDeadline(deadline); err != nil {
		return nil, fmt.Errorf("mllp: send: %w", err)
	}
	// Cancellation without a deadline: unblock I/O by expiring it now.
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if cap(c.wbuf) > keepCap {
		c.wbuf = nil
	}
	c.wbuf = AppendFrame(c.wbuf[:0], payload)
	if _, err := c.nc.Write(c.wbuf); err != nil {
		return nil, ctxErr(ctx, deadline, fmt.Errorf("mllp: send: %w", err))
	}
	answer, err := c.r.ReadFrame()
	if err != nil {
		return nil, ctxErr(ctx, deadline, fmt.Errorf("mllp: read answer: %w", err))
	}
	return append([]byte(nil), answer...), nil
}

// ctxErr puts ctx's error first when ctx caused the I/O failure (its
// deadline may pass a moment before ctx.Err reports it).
func ctxErr(ctx context.Context, deadline time.Time, err error) error {
	cause := ctx.Err()
	if cause == nil && !deadline.IsZero() && !time.Now().Before(deadline) {
		cause = context.DeadlineExceeded
	}
	if cause != nil {
		return fmt.Errorf("%w (%w)", cause, err)
	}
	return err
}

// Close closes the connection; a blocked Send returns an error. It is safe
// to call more than once.
func (c *Client) Close() error {
	err := c.nc.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("mllp: close: %w", err)
	}
	return nil
}
