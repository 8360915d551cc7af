// Package kafka_test runs the topics and doctor packages, and kafka.sh
// itself, against a real 3-broker Apache Kafka cluster with SASL over TLS and
// ACLs (see kafkatest). The tests skip unless KAFKA_TESTS is set.
package kafka_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// basePort is this package's own port range (19400-19402, controllers
// 19500-19502) so that other packages' clusters do not collide with it.
const basePort = 19400

var cluster *kafkatest.Cluster

func TestMain(m *testing.M) {
	if !kafkatest.Enabled() {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	start := time.Now()
	c, err := kafkatest.Launch(ctx, kafkatest.Options{Brokers: 3, BasePort: basePort, SASL: true, TLS: true})
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start Kafka:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kafka.sh up --brokers 3 --sasl --tls: %s\n", time.Since(start).Round(time.Millisecond))
	cluster = c
	code := m.Run()
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	if err := c.Down(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "stop Kafka:", err)
		code = 1
	}
	cancel()
	os.Exit(code)
}

// need returns the shared cluster, skipping when real-Kafka tests are off.
func need(t *testing.T) *kafkatest.Cluster {
	t.Helper()
	if cluster == nil {
		t.Skipf("real Kafka tests are off: set %s=1", kafkatest.EnvEnable)
	}
	return cluster
}
