package hl7door_test

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/hl7gw/gateway/hl7/conformance"
	"github.com/hl7gw/gateway/ingest/hl7door"
	"github.com/hl7gw/gateway/pipeline"
	"github.com/hl7gw/gateway/router"
)

// acceptAll is a publisher that stores nothing and fails nothing.
type acceptAll struct{}

func (acceptAll) Publish(_ context.Context, recs []*kgo.Record, _ bool) ([]pipeline.Delivery, error) {
	return make([]pipeline.Delivery, len(recs)), nil
}

func TestCheckFindsAnErrorExactlyWhenTheDoorRefusesTheMessage(t *testing.T) {
	v, err := conformance.New(conformance.Options{})
	if err != nil {
		t.Fatal(err)
	}
	steps := hl7door.NewSteps(hl7door.StepsConfig{Connector: "t", Validator: v})
	door := hl7door.NewDoor(pipeline.New(pipeline.Config{Connector: "t", ValidationEnabled: true, DLQTopic: "hl7.dlq",
		ContentType: router.ContentTypeHL7}, steps, acceptAll{}, nil), nil)

	valid := "MSH|^~\\&|LAB|H|GW|H|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5\rEVN|A01|20240101120000\rPID|1||42^^^H^MR||DOE^JOHN\rPV1|1|I\r"
	noType := "MSH|^~\\&|LAB|H|GW|H|20240101120000|||MSG2|P|2.5\rPID|1||43\r"
	cases := []struct {
		name      string
		raw       string
		wantError bool
		wantLoc   string // a location prefix the first error must carry
	}{
		{"a valid message", valid, false, ""},
		{"a message without MSH-9 does not parse", noType, true, ""},
		{"a batch of valid messages", "BHS|^~\\&|LAB|H\r" + valid + valid + "BTS|2\r", false, ""},
		{"a batch's invalid message is located by its number", "BHS|^~\\&|LAB|H\r" + valid + noType + "BTS|2\r", true, "message 2: "},
		{"a batch that holds no message is refused whole", "BHS|^~\\&|LAB|H\rBTS|0\r", true, ""},
		{"a batch whose envelope cannot be split is refused whole", "BHS|^~\\&|LAB|H\rPID|1\r" + valid + "BTS|1\r", true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := hl7door.Check(v, []byte(tc.raw))
			f, hasError := fs.FirstError()
			if hasError != tc.wantError {
				t.Fatalf("Check: error %v (%v), want %v", hasError, fs, tc.wantError)
			}
			if hasError && !strings.HasPrefix(f.Location, tc.wantLoc) {
				t.Fatalf("first error at %q, want it under %q", f.Location, tc.wantLoc)
			}
			out := door.Answer(context.Background(), []byte(tc.raw)).Outcome
			if refused := out.Status == pipeline.Invalid; refused != tc.wantError {
				t.Fatalf("the door's outcome %v (stage %v) disagrees with Check's findings %v", out.Status, out.Stage, fs)
			}
		})
	}
}
