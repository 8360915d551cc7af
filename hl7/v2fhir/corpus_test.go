package v2fhir

import (
	"encoding/json"
	"errors"
	"regexp"
	"testing"

	"github.com/hl7gw/gateway/fhir/fhirval"
	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/router"
	"github.com/hl7gw/gateway/validation"
)

// corpusMessages returns every message of the HL7 corpus's cases with
// verdict (batches split), by file.
func corpusMessages(t testing.TB, verdict string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	for _, c := range corpus.Select(t, corpus.HL7, verdict) {
		raw := c.Read(t)
		if hl7.IsBatch(raw) {
			b, err := hl7.SplitBatch(raw)
			if err != nil {
				continue
			}
			out[c.File] = b.Messages
			continue
		}
		out[c.File] = [][]byte{raw}
	}
	return out
}

var fhirID = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

// TestCorpusResourcesPassStrictValidator converts every corpus message of
// a supported type. Each resource must pass the strict FHIR validator
// without an error, carry its own type and id, be keyed as the FHIR door
// keys it (router.FHIRKey), and appear once per Bundle; a message that
// cannot be converted must fail with an *Error naming a location.
func TestCorpusResourcesPassStrictValidator(t *testing.T) {
	converted, failed, resources := 0, 0, 0
	for name, msgs := range corpusMessages(t, corpus.Valid) {
		for k, raw := range msgs {
			msg, err := hl7.Parse(raw)
			if err != nil {
				continue
			}
			res, err := Convert(msg, testOptions)
			if errors.Is(err, ErrUnsupported) {
				continue
			}
			if err != nil {
				var ce *Error
				if !errors.As(err, &ce) || ce.Location() == "" {
					t.Errorf("%s #%d: the failure %v is not an *Error with a location", name, k, err)
				}
				failed++
				continue
			}
			converted++
			seen := map[string]bool{}
			for _, e := range res.Entries {
				resources++
				checkEntry(t, name, e)
				if seen[e.Type+"/"+e.ID] {
					t.Errorf("%s: %s/%s twice in one Bundle", name, e.Type, e.ID)
				}
				seen[e.Type+"/"+e.ID] = true
			}
			b, _ := res.Bundle()
			if _, fs := fhirval.Validate(b, fhirval.Options{Strict: true}); fs.HasErrors() {
				f, _ := fs.FirstError()
				t.Errorf("%s: the transaction Bundle: %s", name, f)
			}
		}
	}
	t.Logf("%d messages converted to %d resources, %d refused with a located error", converted, resources, failed)
	if converted < 140 || resources < 1000 {
		t.Errorf("only %d messages (%d resources) converted: the corpus or the converter lost its supported messages", converted, resources)
	}
}

func checkEntry(t *testing.T, name string, e Entry) {
	t.Helper()
	if _, fs := fhirval.Validate(e.JSON, fhirval.Options{Strict: true}); fs.HasErrors() {
		for _, f := range fs {
			if f.Severity == validation.SeverityError {
				t.Errorf("%s: %s/%s: %s", name, e.Type, e.ID, f)
			}
		}
	}
	var r struct {
		ResourceType, ID string
		Subject          *struct{ Reference string }
		Patient          *struct{ Reference string }
	}
	if err := json.Unmarshal(e.JSON, &r); err != nil {
		t.Fatalf("%s: %s: %v", name, e.Type, err)
	}
	if r.ResourceType != e.Type || r.ID != e.ID || !fhirID.MatchString(e.ID) {
		t.Errorf("%s: entry %s/%s holds %s/%s", name, e.Type, e.ID, r.ResourceType, r.ID)
	}
	meta := router.FHIRMeta{ResourceType: e.Type, ID: e.ID}
	if r.Subject != nil {
		meta.PatientRef = r.Subject.Reference
	} else if r.Patient != nil {
		meta.PatientRef = r.Patient.Reference
	}
	if want := router.FHIRKey(meta); e.Key != want {
		t.Errorf("%s: %s/%s keyed %q, the FHIR door keys it %q", name, e.Type, e.ID, e.Key, want)
	}
}
