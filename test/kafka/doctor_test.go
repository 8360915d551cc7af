package kafka_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/doctor"
	"github.com/hl7gw/gateway/publish"
	"github.com/hl7gw/gateway/test/kafka/kafkatest"
)

// kadmFor is an admin client authenticated as the gateway user.
func kadmFor(t *testing.T, c *kafkatest.Cluster) *kadm.Client {
	t.Helper()
	return kadm.NewClient(c.Client(t, kafkatest.Gateway))
}

// durableTopic creates topic (RF 3, min.insync.replicas 2) as admin if absent.
func durableTopic(t *testing.T, c *kafkatest.Cluster, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	two := "2"
	_, err := c.AdminClient(t).CreateTopic(ctx, 3, 3, map[string]*string{"min.insync.replicas": &two}, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatal(err)
	}
	c.WaitHealthy(t, 30*time.Second, topic)
}

func gatewayConfig(c *kafkatest.Cluster, mech string) config.Kafka {
	k := c.Config(kafkatest.Gateway, mech)
	k.Topics = config.Topics{Partitions: 3, ReplicationFactor: 3, MinInsyncReplicas: 2}
	k.Producer = config.Default().Kafka.Producer
	return k
}

func runDoctor(k config.Kafka, topics ...string) doctor.Report {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return doctor.Run(ctx, k, topics, doctor.Options{StepTimeout: 5 * time.Second})
}

func TestDoctorAllOKOnDurableCluster(t *testing.T) {
	c := need(t)
	durableTopic(t, c, "hl7.adt.a01")
	for _, mech := range []string{config.SASLPlain, config.SASLScramSHA256, config.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			rep := runDoctor(gatewayConfig(c, mech), "hl7.adt.a01")
			for _, s := range rep.Steps {
				if s.Verdict != doctor.OK {
					t.Errorf("step %s = %s: %s", s.Name, s.Verdict, s.Detail)
				}
			}
			if n := len(rep.Steps); n != 3*3+4 { // dns, tcp, tls per broker; sasl, metadata, topic, produce
				t.Errorf("%d steps:\n%s", n, rep.Table())
			}
			if t.Failed() {
				t.Log("\n" + rep.Table())
			}
		})
	}
}

func TestDoctorNamesAWrongSASLPassword(t *testing.T) {
	c := need(t)
	for _, mech := range []string{config.SASLPlain, config.SASLScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			k := gatewayConfig(c, mech)
			k.SASL.Password = config.NewSecret("not-the-password")
			rep := runDoctor(k, "hl7.adt.a01")
			s, _ := rep.Step("sasl")
			if s.Verdict != doctor.Fail || !strings.Contains(s.Detail, "SASL_AUTHENTICATION_FAILED") ||
				!strings.Contains(s.Hint, "wrong username or password") {
				t.Fatalf("sasl step %+v\n%s", s, rep.Table())
			}
			if strings.Contains(string(rep.JSON()), "not-the-password") || strings.Contains(rep.Table(), c.Password(kafkatest.Gateway)) {
				t.Fatal("the report reveals a password")
			}
			if m, _ := rep.Step("metadata"); m.Verdict != doctor.Skip || !rep.Failed() {
				t.Fatalf("after a SASL failure: metadata %s, failed %v", m.Verdict, rep.Failed())
			}
		})
	}
}

func TestDoctorFailsProduceOnAForbiddenTopicAndKafkaAgrees(t *testing.T) {
	c := need(t)
	durableTopic(t, c, kafkatest.ForbiddenTopic)
	rep := runDoctor(gatewayConfig(c, config.SASLScramSHA256), kafkatest.ForbiddenTopic)
	if s, _ := rep.Step("topic " + kafkatest.ForbiddenTopic); s.Verdict != doctor.OK {
		t.Errorf("topic step %+v (the gateway may describe it)", s)
	}
	s, _ := rep.Step("produce " + kafkatest.ForbiddenTopic)
	if s.Verdict != doctor.Fail || !strings.Contains(s.Detail, "User:gateway may not WRITE") || !strings.Contains(s.Hint, "kafka-acls.sh") {
		t.Fatalf("produce step %+v\n%s", s, rep.Table())
	}

	// The broker refuses the write just as doctor said.
	opts, err := publish.Options(gatewayConfig(c, config.SASLScramSHA256), c.Brokers(), kgo.RecordDeliveryTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = cl.ProduceSync(ctx, &kgo.Record{Topic: kafkatest.ForbiddenTopic, Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.TopicAuthorizationFailed) {
		t.Fatalf("produce to the forbidden topic: %v", err)
	}
}

func TestDoctorReportsATopicTheUserCannotSee(t *testing.T) {
	c := need(t)
	durableTopic(t, c, "audit.hidden")
	rep := runDoctor(gatewayConfig(c, config.SASLPlain), "audit.hidden")
	if s, _ := rep.Step("topic audit.hidden"); s.Verdict != doctor.Fail || !strings.Contains(s.Detail, "not authorized") {
		t.Fatalf("topic step %+v", s)
	}
	if s, _ := rep.Step("produce audit.hidden"); s.Verdict != doctor.Fail {
		t.Fatalf("produce step %+v", s)
	}
}
