package conformance

import (
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/hl7"
	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

// corpusFile is one case of the HL7 corpus, with the columns these tests
// read.
type corpusFile struct {
	path, source, why string
	valid             bool
	c                 corpus.Case
}

func loadCorpus(t testing.TB) []corpusFile {
	t.Helper()
	var out []corpusFile
	for _, c := range corpus.Cases(t, corpus.HL7) {
		src, _, _ := strings.Cut(c.Columns["source"], "@")
		out = append(out, corpusFile{path: c.File, source: src, why: c.Columns["why_invalid"], valid: c.Verdict == corpus.Valid, c: c})
	}
	return out
}

// judge parses (splitting batches) and validates raw as the gateway does
// and returns every finding; a parse or batch failure is an error finding.
func judge(v *Validator, raw []byte) validation.Findings {
	msgs := [][]byte{raw}
	var out validation.Findings
	if hl7.IsBatch(raw) {
		b, err := hl7.SplitBatch(raw)
		if err != nil {
			return append(out, errorFindings(err)...)
		}
		msgs = b.Messages
		for _, f := range b.Findings {
			if v.o.Strict {
				f.Severity = validation.SeverityError
			}
			out = append(out, f)
		}
	}
	for _, mraw := range msgs {
		m, err := hl7.Parse(mraw)
		if err != nil {
			out = append(out, errorFindings(err)...)
			continue
		}
		out = append(out, v.Validate(m)...)
		_, cf := v.Charset(m)
		out = append(out, cf...)
	}
	return out
}

func errorFindings(err error) validation.Findings {
	if ve, ok := err.(*validation.Error); ok {
		return ve.Findings
	}
	return validation.Findings{{Severity: validation.SeverityError, Code: validation.CodeInternal, Message: err.Error()}}
}

func readCorpus(t testing.TB, cf corpusFile) []byte {
	t.Helper()
	return cf.c.Read(t)
}

// disagreements lists every corpus file whose strict verdict differs from
// the manifest's, with the reason. TestCorpusStrictAgreement fails when
// the set changes, so that a rule change that moves a verdict is seen.
var disagreements = map[string]string{
	// valid files refused by strict: header values and observation values
	// that break their data type (the source libraries parse without
	// validating these).
	"valid/hapi-util-messages-01.hl7":                 "MSH-7 has 16 digits: not a DTM",
	"valid/lenaten-msg3.hl7":                          "MSH-7 has 16 digits: not a DTM",
	"valid/simplehl7-oru-imm_hl7.hl7":                 "MSH-7 has 11 digits: not a DTM",
	"valid/kardianos-order2.hl7":                      "MSH-13 (sequence number, NM) holds letters",
	"valid/kardianos-order3.hl7":                      "MSH-13 (sequence number, NM) holds letters",
	"valid/nhapics-PipeParserV231Tests-L37.hl7":       "MSH-13 (sequence number, NM) holds letters",
	"valid/nhapics-PipeParserV231Tests-L218.hl7":      "MSH-13 (sequence number, NM) holds letters",
	"valid/nhapics-PipeParserV231Tests-L250.hl7":      "MSH-13 (sequence number, NM) holds letters",
	"valid/hapijava-MessageQueryTest-L23.hl7":         "MSH-18 is not a table 0211 character set (test placeholder)",
	"valid/hapijava-MessageQueryTest-L147.hl7":        "MSH-18 is not a table 0211 character set (test placeholder)",
	"valid/hapijava-NewPipeParserTest-L521.hl7":       "MSH-11 processing id outside table 0103 (202)",
	"valid/hapijava-CustomModelClassTest-L56.hl7":     "custom message type ZDT is not an HL7 type (200); HAPI accepts it through a custom model",
	"valid/kardianos-vaers_long.hl7":                  "OBX-5 is not a number although OBX-2 says NM",
	"valid/lenaten-msg2.hl7":                          "OBX-5 holds units although OBX-2 says NM",
	"valid/nhapics-LegacyPipeParserV23Tests-L171.hl7": "OBX-5 date written DDMMMYY although OBX-2 says DT",
	"valid/nhapics-PipeParserV231Tests-L543.hl7":      "OBX-5 date written DDMMMYY although OBX-2 says DT",
	"valid/nhapics-PipeParserV24Tests-L136.hl7":       "OBX-5 date written DDMMMYY although OBX-2 says DT",
	"valid/nhapics-PipeParserV251Tests-L49.hl7":       "OBX-5 holds placeholder text although OBX-2 says DT",
	"valid/nhapics-PipeParserV26Tests-L50.hl7":        "OBX-5 holds placeholder text although OBX-2 says DT",
	"valid/hapi-util-messages-02.hl7":                 "DST is not an HL7 segment in any version and not a Z-segment (100)",
	"valid/hl7standard-tests-data-batch.hl7":          "SOM is not an HL7 segment in any version and not a Z-segment (100)",
	// invalid files accepted by strict.
	"invalid/hapijava-ValidatingParserTest-L15.hl7": "bad EVN-2 time stamp: outside the header and OBX-5 data types are checked only under full conformance",
	"invalid/hapijava-MessageValidatorTest-L90.hl7": "HAPI refuses a withdrawn data type in OBX-2; table 0125 outside the header is a warning unless full conformance",
}

func TestCorpusStrictAgreement(t *testing.T) {
	v, err := New(Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	type tally struct{ agree, total int }
	bySource, byReason := map[string]*tally{}, map[string]*tally{}
	count := func(m map[string]*tally, k string, ok bool) {
		if m[k] == nil {
			m[k] = &tally{}
		}
		m[k].total++
		if ok {
			m[k].agree++
		}
	}
	full, err := New(Options{Strict: true, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	var validOK, validN, invalidOK, invalidN, fullOK int
	got := map[string]string{}
	for _, cf := range loadCorpus(t) {
		fs := judge(v, readCorpus(t, cf))
		first, refused := fs.FirstError()
		agree := refused != cf.valid
		if cf.valid && !judge(full, readCorpus(t, cf)).HasErrors() {
			fullOK++
		}
		if cf.valid {
			validN++
			if agree {
				validOK++
			}
		} else {
			invalidN++
			if agree {
				invalidOK++
			}
		}
		count(bySource, cf.source, agree)
		reason := "valid"
		if !cf.valid {
			reason, _, _ = strings.Cut(cf.why, ":")
			reason, _, _ = strings.Cut(reason, ";")
		}
		count(byReason, reason, agree)
		if !agree {
			got[cf.path] = first.String()
		}
	}
	for _, m := range []map[string]*tally{bySource, byReason} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			t.Logf("agreement %-60.60s %3d/%3d", k, m[k].agree, m[k].total)
		}
	}
	accept := float64(validOK) / float64(validN)
	refuse := float64(invalidOK) / float64(invalidN)
	t.Logf("strict accepts %d/%d valid (%.1f%%), refuses %d/%d invalid (%.1f%%)", validOK, validN, 100*accept, invalidOK, invalidN, 100*refuse)
	t.Logf("full conformance accepts %d/%d valid files", fullOK, validN)
	if fullOK > validOK {
		t.Errorf("full conformance accepts more (%d) than strict (%d)", fullOK, validOK)
	}
	if accept < 0.90 {
		t.Errorf("strict accepts %.1f%% of valid files, want >= 90%%", 100*accept)
	}
	if refuse < 0.95 {
		t.Errorf("strict refuses %.1f%% of invalid files, want >= 95%%", 100*refuse)
	}
	for path, why := range got {
		if _, ok := disagreements[path]; !ok {
			t.Errorf("new disagreement %s: %s", path, why)
		}
	}
	for path, why := range disagreements {
		if _, ok := got[path]; !ok {
			t.Errorf("listed disagreement %s (%s) now agrees: remove it from the table", path, why)
		}
	}
}

func TestCorpusLenientNeverRefuses(t *testing.T) {
	v, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range loadCorpus(t) {
		raw := readCorpus(t, cf)
		if !cf.valid {
			continue
		}
		for _, f := range judge(v, raw) {
			if f.Severity == validation.SeverityError {
				t.Errorf("%s: lenient error finding %s", cf.path, f)
			}
		}
	}
}

// TestCorpusFindingsCarryNoValues checks the no-patient-data rule over the
// corpus: no finding message contains the value at its location.
func TestCorpusFindingsCarryNoValues(t *testing.T) {
	v, err := New(Options{Strict: true, Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, cf := range loadCorpus(t) {
		raw := readCorpus(t, cf)
		m, err := hl7.Parse(raw)
		if err != nil {
			continue
		}
		for _, f := range v.Validate(m) {
			val, ok := m.Get(f.Location)
			if ok && len(val) >= 4 && strings.Contains(f.Message, val) {
				t.Errorf("%s: finding %q carries the value at %s", cf.path, f.Message, f.Location)
			}
		}
	}
}
