// Package embedded runs a Kafka-protocol broker inside the gateway
// (franz-go's kfake, in memory) for `gateway serve` with no brokers
// configured: one node, topics created on first use with 3 partitions,
// idempotent and transactional producers supported. Ordinary Kafka clients
// (kcat, librdkafka, franz-go, Java) can produce to and read from it.
//
// Records live in memory only and are lost when the broker closes; it is
// for trying the gateway out and for tests, not for production.
package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// DefaultPartitions is the partition count of auto-created topics.
const DefaultPartitions = 3

// Broker is a running embedded broker.
type Broker struct {
	c     *kfake.Cluster
	ln    *keepAccepting
	addrs []string
}

// Option tunes Start.
type Option func(*options)

type options struct{ maxConns int }

// MaxConns bounds the connections the broker holds at once (n <= 0:
// unlimited, the default). Past it a new connection is closed at once and
// counted, with a warning at most every 10 seconds.
func MaxConns(n int) Option { return func(o *options) { o.maxConns = n } }

// Start listens on addr (host:port; port 0 picks a free port) and serves
// the Kafka protocol until Close. It does not block beyond binding the
// port. It fails when ctx is already done, addr is malformed, or the port
// cannot be bound (for example when it is taken), naming the address.
//
// Clients must ask for topic auto-creation in their metadata requests (kcat
// and librdkafka producers do by default; franz-go needs
// kgo.AllowAutoTopicCreation()). The broker advertises the address it is
// bound to; when addr's host is unspecified (0.0.0.0 or ::) it advertises
// 127.0.0.1, so remote clients then need a concrete host in addr.
// ctx is not retained: the broker stops only on Close, so that an ordered
// shutdown can flush producers into it first.
//
// The broker keeps accepting after transient accept errors such as "too
// many open files" (kfake alone would stop accepting for good).
func Start(ctx context.Context, addr string, logger *slog.Logger, opts ...Option) (*Broker, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embedded: start: %w", err)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: bad listen address %q: %w", addr, err)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("embedded: listen on %s (is another broker or gateway using the port? set embedded_kafka_addr): %w", addr, err)
	}
	ka := newKeepAccepting(raw, o.maxConns, logger)
	var ln net.Listener = ka
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		ln = advertised{Listener: ka, host: "127.0.0.1"}
	}
	used := false
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.ClusterID("hl7-gateway-embedded"),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(DefaultPartitions),
		kfake.WithLogger(slogLogger{logger}),
		// kfake asks for a listener per broker; hand it the one bound above
		// so that binding errors surface here with the configured address.
		kfake.ListenFn(func(string, string) (net.Listener, error) {
			if used {
				return nil, fmt.Errorf("embedded: only one listener")
			}
			used = true
			return ln, nil
		}),
	)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("embedded: start broker on %s: %w", addr, err)
	}
	b := &Broker{c: c, ln: ka, addrs: c.ListenAddrs()}
	logger.Info("embedded kafka broker started", "addr", b.addrs[0], "default_partitions", DefaultPartitions, "max_conns", o.maxConns)
	return b, nil
}

// Check opens a new connection to the broker and asks it for metadata, so
// it fails when the broker no longer accepts connections even though the
// connections it holds still work. It blocks until the broker answered or
// ctx ends (and at most 5 seconds).
func (b *Broker) Check(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addrs...), kgo.DialTimeout(5*time.Second),
		kgo.RetryTimeout(5*time.Second), kgo.RequestRetries(0), kgo.MetadataMinAge(time.Second))
	if err != nil {
		return fmt.Errorf("embedded: check: %w", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := cl.Ping(ctx); err != nil {
		return fmt.Errorf("embedded: broker does not answer a new connection: %w", err)
	}
	return nil
}

// AcceptRetries is how many transient accept errors the broker's listener
// has survived.
func (b *Broker) AcceptRetries() int64 { return b.ln.retries.Load() }

// Addrs are the broker addresses to give clients as seed brokers.
func (b *Broker) Addrs() []string { return append([]string(nil), b.addrs...) }

// Close stops the broker and drops every record; connected clients see
// their connections closed. Safe to call twice.
func (b *Broker) Close() { b.c.Close() }

// advertised reports host instead of an unspecified bind address, because
// kfake advertises its listener's address in metadata.
type advertised struct {
	net.Listener
	host string
}

func (a advertised) Addr() net.Addr {
	ta, ok := a.Listener.Addr().(*net.TCPAddr)
	if !ok {
		return a.Listener.Addr()
	}
	return &net.TCPAddr{IP: net.ParseIP(a.host), Port: ta.Port}
}

// slogLogger passes kfake's warnings and errors to slog. kfake logs
// requests and protocol problems, not record contents.
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		s.l.Error("embedded kafka: " + fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		s.l.Warn("embedded kafka: " + fmt.Sprintf(format, args...))
	}
}
