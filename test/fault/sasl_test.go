package fault_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// saslBasePort is the SASL cluster's port (broker 19750, controller
// 19850), beside this package's plain cluster.
const saslBasePort = 19750

// forbiddenTopic is where the "forbidden." connector routes ADT^A01: the
// gateway user has no ACL on it (kafka.sh grants hl7., fhir., _gateway.).
const forbiddenTopic = "forbidden.hl7.adt.a01"

// metricSum adds the values of the samples of name whose labels contain
// every one of labels (e.g. `reason="not_authorized"`).
func metricSum(text, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			sum += v
		}
	}
	return sum
}

// doctor runs `gateway doctor` with the config and returns its output and
// exit code.
func doctor(t *testing.T, g *gatewayProc, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, gatewayBin, append([]string{"doctor", "--config", g.cfgFile}, args...)...).CombinedOutput()
	return string(out), exitCode(err)
}

func TestGatewayWithSASLRefusals(t *testing.T) {
	need(t)
	start := time.Now()
	c := kafkatest.Up(t, kafkatest.Options{Brokers: 1, BasePort: saslBasePort, SASL: true})
	t.Logf("kafka.sh up --brokers 1 --sasl: %s", time.Since(start).Round(time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	minISR := "1"
	if _, err := c.AdminClient(t).CreateTopics(ctx, 1, 1, map[string]*string{"min.insync.replicas": &minISR},
		"hl7.adt.a01", "hl7.dlq", "fhir.dlq", forbiddenTopic, "forbidden.hl7.dlq"); err != nil {
		t.Fatalf("create topics: %v", err)
	}
	oneBroker := "    create: false\n    partitions: 1\n    replication_factor: 1\n    min_insync_replicas: 1\n"
	sasl := func(password string) string {
		return fmt.Sprintf("  sasl:\n    mechanism: SCRAM-SHA-256\n    username: %s\n    password: %q\n", kafkatest.Gateway, password)
	}

	t.Run("a topic the gateway user may not write: AR, a not_authorized metric and doctor names it", func(t *testing.T) {
		g := writeConfigWith(t, c.Brokers(), extraConfig{
			kafka:  sasl(c.Password(kafkatest.Gateway)),
			topics: oneBroker,
			connectors: `connectors:
  - name: forbidden-feed
    type: hl7-mllp
    config:
      listen.address: %s
      topic.prefix: "forbidden."
`,
		})
		g.start(t, false)
		a := newAcks()
		rep, err := a.load(context.Background(), g, "FD", 2, 4, 0, 0)
		t.Logf("MLLP %v (err %v)", rep, err)
		if n := a.codes()["AR"]; n != 4 || err != nil {
			t.Errorf("codes %v (err %v), want 4 AR", a.codes(), err)
		}
		if rep.Max > deliveryTimeout+answerMargin {
			t.Errorf("slowest answer took %s, want within %s", rep.Max, deliveryTimeout+answerMargin)
		}
		m := g.metrics(t)
		if v := metricSum(m, "gateway_unavailable_total", `reason="not_authorized"`); v <= 0 {
			t.Errorf("gateway_unavailable_total{reason=\"not_authorized\"} = %v, want > 0; unavailable samples:\n%s", v, grepLines(m, "gateway_unavailable_total"))
		}
		if logs := g.Out.Tail(200); !strings.Contains(strings.ToLower(logs), "authoriz") {
			t.Errorf("no log line names the authorisation failure:\n%s", g.Out.Tail(20))
		}
		out, code := doctor(t, g, "--topic", forbiddenTopic)
		if code != 1 || !strings.Contains(out, forbiddenTopic) || !strings.Contains(strings.ToUpper(out), "AUTHORIZ") {
			t.Errorf("doctor exit %d, want 1 naming %s and the authorisation failure:\n%s", code, forbiddenTopic, out)
		}
		checkInvariant(t, c, a)
	})

	t.Run("a wrong SASL password: AR, a log line naming it and doctor names it", func(t *testing.T) {
		const wrong = "not-the-password"
		g := writeConfigWith(t, c.Brokers(), extraConfig{kafka: sasl(wrong), topics: oneBroker})
		g.start(t, false)
		if code, err := g.get("/readyz"); err != nil || code == 200 {
			t.Errorf("/readyz answered %d (%v) with a wrong password, want not 200", code, err)
		}
		a := newAcks()
		rep, err := a.load(context.Background(), g, "FW", 2, 2, 0, 0)
		t.Logf("MLLP %v (err %v)", rep, err)
		if n := a.codes()["AR"]; n != 2 || err != nil {
			t.Errorf("codes %v (err %v), want 2 AR", a.codes(), err)
		}
		logs := g.Out.Tail(400)
		if !strings.Contains(logs, "SASL_AUTHENTICATION_FAILED") && !strings.Contains(logs, "sasl_authentication_failed") {
			t.Errorf("no log line names the SASL failure:\n%s", g.Out.Tail(20))
		}
		if strings.Contains(logs, wrong) {
			t.Errorf("the gateway logged the password")
		}
		m := g.metrics(t)
		t.Logf("unavailable samples:\n%s", grepLines(m, "gateway_unavailable_total"))
		out, code := doctor(t, g)
		if code != 1 || !strings.Contains(out, "SASL_AUTHENTICATION_FAILED") {
			t.Errorf("doctor exit %d, want 1 naming SASL_AUTHENTICATION_FAILED:\n%s", code, out)
		}
		if strings.Contains(out, wrong) {
			t.Errorf("doctor printed the password")
		}
		checkInvariant(t, c, a)
	})
}

// grepLines returns the lines of text that start with prefix.
func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
