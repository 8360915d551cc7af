package conformance

import (
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

// FuzzValidate parses arbitrary bytes and validates whatever parses, in
// every mode: it must never panic, lenient must never produce an error
// finding, and every finding must name a location.
func FuzzValidate(f *testing.F) {
	f.Add(msg(msh251, evn, pid, pv1))
	f.Add(msg(`MSH|^~\&|A|B|C|D|2024||ORU^R01|1|P|2.3`, "OBX|1|NM|x||1.5~2|u", "OBX|2|TS|x||20240101^M"))
	f.Add(msg(`MSH|^~\&|A|B|C|D|2024||ACK|1|P|2.1`, "MSA|AA|1", "ZZZ|1"))
	f.Add([]byte("MSH|^~\\&|A|B|C|D|2024||ADT^A01|1|P|2.8.1|||AL|NE||UNICODE UTF-8\rPID|\xff\xfe"))
	corpus.AddSeeds(f, corpus.HL7)
	strict, _ := New(Options{Strict: true, Full: true})
	lenient, _ := New(Options{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := hl7.Parse(raw)
		if err != nil {
			return
		}
		for _, fd := range strict.Validate(m) {
			if fd.Location == "" {
				t.Fatalf("finding without location: %s", fd)
			}
		}
		_, _ = strict.Charset(m)
		fs := lenient.Validate(m)
		_, cs := lenient.Charset(m)
		for _, fd := range append(fs, cs...) {
			if fd.Severity == validation.SeverityError {
				t.Fatalf("lenient error: %s", fd)
			}
		}
	})
}
