package kafkatest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/hl7gw/gateway/config"
)

// User is a SASL user of a cluster started with SASL.
type User string

const (
	// Admin is the superuser.
	Admin User = "admin"
	// Gateway may describe, create and write topics prefixed hl7., fhir.
	// and _gateway., and may only describe ForbiddenTopic.
	Gateway User = "gateway"
)

// ForbiddenTopic is the topic Gateway can see but not write (the test
// creates it).
const ForbiddenTopic = "forbidden.topic"

// Password returns u's password ("" without SASL).
func (c *Cluster) Password(u User) string {
	switch u {
	case Admin:
		return c.env["KAFKA_ADMIN_PASSWORD"]
	case Gateway:
		return c.env["KAFKA_GATEWAY_PASSWORD"]
	}
	return ""
}

// Config returns the gateway's Kafka configuration for connecting as u with
// SASL mechanism mech (config.SASLPlain, "SCRAM-SHA-256", "SCRAM-SHA-512";
// ignored without SASL). Topics are left at their zero values.
func (c *Cluster) Config(u User, mech string) config.Kafka {
	k := config.Kafka{Brokers: c.Brokers(), ClientID: "kafkatest"}
	if c.opts.SASL {
		k.SASL = config.SASL{Mechanism: mech, Username: string(u), Password: config.NewSecret(c.Password(u))}
	}
	if c.opts.TLS {
		k.TLS = config.TLS{Enabled: true, CAFile: c.env["KAFKA_CA_FILE"]}
	}
	return k
}

// ClientOpts returns franz-go options to connect as u (SASL/PLAIN when the
// cluster has SASL, TLS trusting the cluster's CA when it has TLS), then
// extra.
func (c *Cluster) ClientOpts(u User, extra ...kgo.Opt) ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers()...), kgo.ClientID("kafkatest")}
	if c.opts.SASL {
		opts = append(opts, kgo.SASL(plain.Auth{User: string(u), Pass: c.Password(u)}.AsMechanism()))
	}
	if c.opts.TLS {
		cfg, err := c.TLSConfig()
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	return append(opts, extra...), nil
}

// SCRAMOpts is ClientOpts with SCRAM-SHA-256 or -512 (sha512) instead of PLAIN.
func (c *Cluster) SCRAMOpts(u User, sha512 bool, extra ...kgo.Opt) ([]kgo.Opt, error) {
	a := scram.Auth{User: string(u), Pass: c.Password(u)}
	m := a.AsSha256Mechanism()
	if sha512 {
		m = a.AsSha512Mechanism()
	}
	return c.ClientOpts(u, append([]kgo.Opt{kgo.SASL(m)}, extra...)...)
}

// TLSConfig trusts the cluster's generated CA.
func (c *Cluster) TLSConfig() (*tls.Config, error) {
	pem, err := os.ReadFile(c.env["KAFKA_CA_FILE"])
	if err != nil {
		return nil, fmt.Errorf("read cluster ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("cluster ca %s: no certificate", c.env["KAFKA_CA_FILE"])
	}
	return &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// Client returns a franz-go client connected as u, closed when the test ends.
func (c *Cluster) Client(t testing.TB, u User, extra ...kgo.Opt) *kgo.Client {
	t.Helper()
	opts, err := c.ClientOpts(u, extra...)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatalf("kafka client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// CreateTopics creates topics as the superuser with the given number of
// partitions, replication factor 3 and min.insync.replicas 2 (acks=all
// then survives one broker down). Topics that exist already are left as
// they are, so a kept cluster can be reused.
func (c *Cluster) CreateTopics(ctx context.Context, partitions int32, topics ...string) error {
	opts, err := c.ClientOpts(Admin)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("admin client: %w", err)
	}
	defer cl.Close()
	minISR := "2"
	res, err := kadm.NewClient(cl).CreateTopics(ctx, partitions, 3, map[string]*string{"min.insync.replicas": &minISR}, topics...)
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	for _, r := range res.Sorted() {
		if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Topic, r.Err)
		}
	}
	return nil
}

// AdminClient returns a kadm client for the superuser, closed when the test
// ends.
func (c *Cluster) AdminClient(t testing.TB) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t, Admin))
}

// WaitHealthy blocks until every broker is in the metadata and the given
// topics (all topics when none) have every replica in sync, or fails the test
// after timeout. Use it after Start in fault tests.
func (c *Cluster) WaitHealthy(t testing.TB, timeout time.Duration, topics ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	adm := c.AdminClient(t)
	last := "no metadata yet"
	for {
		if ok, why := healthy(ctx, adm, c.opts.Brokers, topics); ok {
			return
		} else {
			last = why
		}
		select {
		case <-ctx.Done():
			t.Fatalf("cluster not healthy after %s: %s", timeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func healthy(ctx context.Context, adm *kadm.Client, brokers int, topics []string) (bool, string) {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return false, err.Error()
	}
	if len(md.Brokers) < brokers {
		return false, fmt.Sprintf("%d of %d brokers in metadata", len(md.Brokers), brokers)
	}
	for _, td := range md.Topics {
		if td.Err != nil {
			return false, fmt.Sprintf("topic %s: %v", td.Topic, td.Err)
		}
		for _, p := range td.Partitions {
			if p.Err != nil || len(p.ISR) < len(p.Replicas) || p.Leader < 0 {
				return false, fmt.Sprintf("%s[%d]: leader %d, isr %v of replicas %v, err %v",
					td.Topic, p.Partition, p.Leader, p.ISR, p.Replicas, p.Err)
			}
		}
	}
	return true, ""
}

// WaitStable waits until no transaction is open on topics: every
// partition's last stable offset equals its high watermark, so that a
// read_committed consumer can read to the end. It returns how long that
// took and fails t when timeout passes first (a hanging transaction).
func (c *Cluster) WaitStable(t testing.TB, timeout time.Duration, topics ...string) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	adm := c.AdminClient(t)
	start := time.Now()
	last := "no offsets yet"
	for {
		hwm, err1 := adm.ListEndOffsets(ctx, topics...)
		lso, err2 := adm.ListCommittedOffsets(ctx, topics...)
		if err1 == nil && err2 == nil && hwm.Error() == nil && lso.Error() == nil {
			open := 0
			hwm.Each(func(o kadm.ListedOffset) {
				if l, ok := lso.Lookup(o.Topic, o.Partition); !ok || l.Offset != o.Offset {
					open++
					last = fmt.Sprintf("%s[%d]: last stable %d, high watermark %d", o.Topic, o.Partition, l.Offset, o.Offset)
				}
			})
			if open == 0 {
				return time.Since(start)
			}
		} else {
			last = fmt.Sprintf("list offsets: %v %v", err1, err2)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("a transaction is still open after %s (a hanging transaction?): %s", timeout, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
