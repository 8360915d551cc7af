package hl7door_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// convertible are the message types the converter is asked to convert in
// FuzzDoorAnswer: every type the v2-to-FHIR converter supports.
var convertible = []string{"ADT^A01", "ADT^A02", "ADT^A03", "ADT^A04", "ADT^A05", "ADT^A06", "ADT^A07", "ADT^A08",
	"ADT^A11", "ADT^A13", "ADT^A28", "ADT^A31", "ADT^A40", "ORU^R01", "VXU^V04", "ORM^O01", "OML^O21"}

// FuzzDoorAnswer runs any payload through the whole HL7 door, parse to
// ACK, in three configurations: lenient with conversion to FHIR, strict
// with full conformance and errors.tolerance none, and without
// validation. Whatever the bytes, no step panics (the pipeline would turn
// a panic into a code-207 finding, so the finding is what is looked for),
// the door itself does not panic, an accepted message is answered AA or
// CA, and every ACK parses back with the code the Answer names and, when
// it carries ERR segments, fits MaxACKBytes.
func FuzzDoorAnswer(f *testing.F) {
	corpus.AddSeeds(f, corpus.HL7)
	lenient, err := conformance.New(conformance.Options{})
	if err != nil {
		f.Fatal(err)
	}
	strict, err := conformance.New(conformance.Options{Strict: true, Full: true})
	if err != nil {
		f.Fatal(err)
	}
	conv := hl7door.NewConverter(hl7door.ConvertConfig{Types: convertible, DLQTopic: "fhir.dlq"}, "f", prometheus.NewRegistry())
	base := pipeline.Config{Connector: "f", DLQTopic: "hl7.dlq", ContentType: router.ContentTypeHL7}
	door := func(cfg pipeline.Config, sc hl7door.StepsConfig) *hl7door.Door {
		sc.Connector = "f"
		return hl7door.NewDoor(pipeline.New(cfg, hl7door.NewSteps(sc), acceptAll{}, nil), nil)
	}
	withValidation, tolNone := base, base
	withValidation.ValidationEnabled = true
	tolNone.ValidationEnabled, tolNone.Tolerance = true, pipeline.ToleranceNone
	doors := []*hl7door.Door{
		door(withValidation, hl7door.StepsConfig{Validator: lenient, Converter: conv}),
		door(tolNone, hl7door.StepsConfig{Validator: strict}),
		door(base, hl7door.StepsConfig{}),
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for i, d := range doors {
			a := d.Answer(context.Background(), bytes.Clone(raw))
			for _, fd := range a.Outcome.Findings {
				if fd.Code == validation.CodeInternal {
					t.Fatalf("door %d: a step failed internally (a panic, see the log): %+v", i, fd)
				}
			}
			if a.Outcome.Status == pipeline.Accepted && a.Code != "AA" && a.Code != "CA" && a.Code != "" {
				t.Fatalf("door %d: accepted but answered %q", i, a.Code)
			}
			checkACK(t, i, a)
			checkMSA2(t, i, raw, a)
		}
	})
}

// checkACK parses an Answer's ACK, each of a batch's.
func checkACK(t *testing.T, door int, a hl7door.Answer) {
	t.Helper()
	if len(a.ACK) == 0 {
		return
	}
	units, b, isBatch := hl7.Units(a.ACK)
	if isBatch && len(b.Messages) == 0 {
		// A batch none of whose messages asked for an ACK is answered
		// with its envelope alone (BTS|0).
		if _, err := hl7.SplitBatch(a.ACK); err != nil || a.Code != "" {
			t.Fatalf("door %d: a batch ACK without ACKs (%v), code %q:\n%q", door, err, a.Code, a.ACK)
		}
		return
	}
	worst := ""
	for _, u := range units {
		info, err := hl7.ParseACK(u)
		if err != nil {
			t.Fatalf("door %d: the ACK does not parse: %v\n%q", door, err, u)
		}
		if len(u) > hl7.MaxACKBytes && len(info.ErrorCodes) > 0 {
			t.Fatalf("door %d: an ACK with ERR segments is %d bytes, over %d", door, len(u), hl7.MaxACKBytes)
		}
		worst = hl7door.WorseCode(worst, info.Code)
	}
	if worst != a.Code {
		t.Fatalf("door %d: Answer.Code %q, the ACK says %q", door, a.Code, worst)
	}
}

// checkMSA2: the ACK of a single message that parses carries its MSH-10
// in MSA-2 byte for byte, so that the sender can match it.
func checkMSA2(t *testing.T, door int, raw []byte, a hl7door.Answer) {
	t.Helper()
	if len(a.ACK) == 0 || hl7.IsBatch(raw) {
		return
	}
	m, err := hl7.Parse(raw)
	if err != nil {
		return
	}
	ack, err := hl7.Parse(a.ACK)
	if err != nil {
		t.Fatalf("door %d: the ACK does not parse: %v", door, err)
	}
	msa, ok := ack.Segment("MSA", 1)
	if !ok {
		t.Fatalf("door %d: the ACK has no MSA", door)
	}
	if got, want := msa.Field(2).Raw(), m.MSHField(10).Raw(); !bytes.Equal(got, want) {
		t.Fatalf("door %d: MSA-2 %q, the message's MSH-10 %q", door, got, want)
	}
}
