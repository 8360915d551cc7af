package publish

import (
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestSplitEpochsRefusesATransactionWrittenUnderTwoEpochs(t *testing.T) {
	rec := func(id int64, epoch int16) *kgo.Record {
		return &kgo.Record{Topic: "fhir.patient.created", ProducerID: id, ProducerEpoch: epoch}
	}
	for _, tc := range []struct {
		name  string
		recs  []*kgo.Record
		split bool
	}{
		{"records under the client's id and epoch commit", []*kgo.Record{rec(7, 3), rec(7, 3), rec(7, 3)}, false},
		{"a record under an older epoch (the first part was aborted) is refused", []*kgo.Record{rec(7, 2), rec(7, 3), rec(7, 3)}, true},
		{"records all under an older epoch than the client's are refused", []*kgo.Record{rec(7, 2), rec(7, 2)}, true},
		{"a record under another producer id is refused", []*kgo.Record{rec(7, 3), rec(8, 3)}, true},
		{"a failed record's unknown id (-1) is refused", []*kgo.Record{rec(7, 3), rec(-1, -1)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := splitEpochs(tc.recs, 7, 3)
			if got := errors.Is(err, ErrEpochChanged); got != tc.split {
				t.Fatalf("splitEpochs = %v, want split %v", err, tc.split)
			}
		})
	}
}
