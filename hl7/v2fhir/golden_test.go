package v2fhir

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the converter's output")

// corpusFile is a valid message of the repository's third-party HL7
// corpus (testdata/corpus/hl7: sources and licences in its manifest).
func corpusFile(name string) string { return corpus.Path(corpus.HL7, "valid/"+name) }

// testOptions makes conversions deterministic: a fixed clock for
// Provenance.recorded when MSH-7 has no time.
var testOptions = Options{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}

// goldenCases are one corpus message per supported type and event (two
// for ORU^R01: a lab panel with numeric results and one with coded and
// text values). Every event has a third-party message in the corpus, so
// none is derived by editing MSH-9.
var goldenCases = []struct{ event, file string }{
	{"ADT^A01", "fhirconv-ADT-A01-02.hl7"},
	{"ADT^A02", "fhirconv-ADT-A02-02.hl7"},
	{"ADT^A03", "fhirconv-ADT-A03-02.hl7"},
	{"ADT^A04", "fhirconv-ADT04-251.hl7"},
	{"ADT^A05", "fhirconv-ADT-A05-02.hl7"},
	{"ADT^A06", "fhirconv-ADT-A06-01.hl7"},
	{"ADT^A07", "fhirconv-ADT-A07-01.hl7"},
	{"ADT^A08", "hapijava-IsEmptyTest-L52.hl7"},
	{"ADT^A11", "fhirconv-ADT-A11-02.hl7"},
	{"ADT^A13", "fhirconv-ADT-A13-01.hl7"},
	{"ADT^A28", "fhirconv-ADT-A28-01.hl7"},
	{"ADT^A31", "fhirconv-ADT-A31-01.hl7"},
	{"ADT^A40", "fhirconv-ADT-A40-01.hl7"},
	{"ORU^R01", "fhirconv-LAB-ORU-1.hl7"},
	{"ORU^R01", "lenaten-msg2.hl7"},
	{"VXU^V04", "fhirconv-VXU-V04-01.hl7"},
	{"ORM^O01", "fhirconv-LAB-ORM-1.hl7"},
	{"OML^O21", "fhirconv-OML-O21-01.hl7"},
}

func convertFile(t testing.TB, path string) *Result {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := hl7.Parse(raw)
	if err != nil {
		t.Fatalf("%s: parse: %v", path, err)
	}
	res, err := Convert(msg, testOptions)
	if err != nil {
		t.Fatalf("%s: convert: %v", path, err)
	}
	return res
}

func prettyBundle(t testing.TB, res *Result) []byte {
	t.Helper()
	b, err := res.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		t.Fatalf("the Bundle is not JSON: %v", err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestGoldenBundles converts each golden case and compares the pretty
// transaction Bundle with testdata/golden (-update rewrites them). The
// goldens are the specification: review them by eye when they change.
func TestGoldenBundles(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range goldenCases {
		seen[tc.event] = true
		t.Run(tc.event+" from "+tc.file, func(t *testing.T) {
			res := convertFile(t, corpusFile(tc.file))
			msg, _ := hl7.Parse(mustRead(t, corpusFile(tc.file)))
			if h := msg.Header(); h.MessageType+"^"+h.TriggerEvent != tc.event {
				t.Fatalf("%s is %s^%s, not %s", tc.file, h.MessageType, h.TriggerEvent, tc.event)
			}
			got := prettyBundle(t, res)
			golden := filepath.Join("testdata", "golden", goldenName(tc.event, tc.file))
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := mustRead(t, golden)
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the conversion (run go test ./hl7/v2fhir -run TestGoldenBundles -update and review the diff)", golden)
			}
		})
	}
	for _, ev := range Supported() {
		if !seen[ev] {
			t.Errorf("no golden Bundle for supported event %s", ev)
		}
	}
}

func goldenName(event, file string) string {
	b := []byte(event)
	for i, ch := range b {
		if ch == '^' {
			b[i] = '_'
		}
	}
	return string(b) + "--" + file[:len(file)-len(filepath.Ext(file))] + ".json"
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
