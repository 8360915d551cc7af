package hl7door_test

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
)

// nopPublisher acknowledges every record at once: the benchmark measures
// the door's own cost per message (parse, validate, route, record, ACK),
// the part of an MLLP answer that is not the broker's.
type nopPublisher struct{}

func (nopPublisher) Publish(_ context.Context, recs []*kgo.Record, _ bool) ([]pipeline.Delivery, error) {
	d := make([]pipeline.Delivery, len(recs))
	for i, r := range recs {
		d[i] = pipeline.Delivery{Topic: r.Topic}
	}
	return d, nil
}

// BenchmarkDoorSubmit runs an ADT^A01 through the lenient HL7 door with
// validation on, as the default hl7-mllp connector does, broker excluded.
func BenchmarkDoorSubmit(b *testing.B) {
	msg := corpus.Read(b, corpus.HL7, "valid/fhirconv-ADT-A01-02.hl7")
	v, err := conformance.New(conformance.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cfg := pipeline.Config{Connector: "b", ValidationEnabled: true, DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	d := hl7door.NewDoor(pipeline.New(cfg, hl7door.NewSteps(hl7door.StepsConfig{Connector: "b", Validator: v}), nopPublisher{}, nil), nil)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, out := d.SubmitHL7(context.Background(), msg); out.Status != pipeline.Accepted {
			b.Fatalf("outcome %+v", out)
		}
	}
}
