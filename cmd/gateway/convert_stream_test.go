package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/config"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/ingest/mllp"
	"github.com/hl7gw/gateway/internal/metrictest"
	"github.com/hl7gw/gateway/internal/topicread"
	"github.com/hl7gw/gateway/topics"
)

func recordHeader(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// The wiring of hl7.fhir.convert: a connector that converts ADT^A01
// publishes the message's Patient and Encounter beside its raw record,
// counts the conversion, and has a FHIR dead-letter topic that the
// gateway checks at start; one that does not convert has none.
func TestAConnectorConvertingADTPublishesItsResources(t *testing.T) {
	cfg := testConfig()
	cfg.Connectors = []config.Connector{mllpConnector(map[string]string{"hl7.fhir.convert": "ADT^A01,ORU^R01"})}
	g, _ := startGateway(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := mllp.Dial(ctx, g.mllpAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ack, err := c.Send(ctx, adtA01(t))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := hl7.ParseACK(ack); err != nil || info.Code != "AA" {
		t.Fatalf("ACK %+v %v", info, err)
	}
	brokers := g.brokerAddrs()
	raw := topicread.N(t, brokers, 1, "hl7.adt.a01")[0]
	for _, topic := range []string{"fhir.patient.created", "fhir.encounter.created"} {
		rec := topicread.N(t, brokers, 1, topic)[0]
		if id := recordHeader(rec, "hl7.control_id"); id == "" || id != recordHeader(raw, "hl7.control_id") {
			t.Errorf("%s: hl7.control_id %q, want the raw record's %q", topic, id, recordHeader(raw, "hl7.control_id"))
		}
		if recordHeader(rec, "hl7.source.topic") != "hl7.adt.a01" || !rec.Attrs.IsTransactional() {
			t.Errorf("%s: not linked to its raw record in one transaction", topic)
		}
	}
	if n := metrictest.Value(t, g.reg, "gateway_hl7_fhir_conversions_total",
		map[string]string{"connector": "adt", "type": "ADT^A01", "result": "converted"}); n != 1 {
		t.Errorf("converted count %v, want 1", n)
	}

	dlqs, err := topics.DeadLetterTopics(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dlqs, []string{"hl7.dlq", "fhir.dlq"}) {
		t.Errorf("dead-letter topics checked at start %v, want hl7.dlq and fhir.dlq", dlqs)
	}
	cfg.Connectors = []config.Connector{mllpConnector(nil)}
	if dlqs, _ := topics.DeadLetterTopics(cfg); !slices.Equal(dlqs, []string{"hl7.dlq"}) {
		t.Errorf("without conversion the dead-letter topics are %v, want hl7.dlq alone", dlqs)
	}
}
