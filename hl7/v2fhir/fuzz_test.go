package v2fhir

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
)

// FuzzConvert parses and converts arbitrary bytes: Convert never panics,
// fails only with an *Error, and what it makes is JSON with the entry's
// type and id. Seeds: every message of the HL7 corpus, valid and invalid.
func FuzzConvert(f *testing.F) {
	for _, verdict := range []string{corpus.Valid, corpus.Invalid} {
		for _, msgs := range corpusMessages(f, verdict) {
			for _, m := range msgs {
				f.Add(m)
			}
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		msg, err := hl7.Parse(raw)
		if err != nil {
			return
		}
		res, err := Convert(msg, testOptions)
		if err != nil {
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("failure %v is not an *Error", err)
			}
			return
		}
		for _, e := range res.Entries {
			var r struct{ ResourceType, ID string }
			if err := json.Unmarshal(e.JSON, &r); err != nil || r.ResourceType != e.Type || r.ID != e.ID {
				t.Fatalf("%s/%s: %v, %+v", e.Type, e.ID, err, r)
			}
		}
		if b, err := res.Bundle(); err != nil || !json.Valid(b) {
			t.Fatalf("the Bundle is not JSON: %v", err)
		}
	})
}
