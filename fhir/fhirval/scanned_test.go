package fhirval

import (
	"reflect"
	"sort"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

// corpusBodies are every file of the FHIR corpus (valid and invalid), by
// its manifest path.
func corpusBodies(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, c := range corpus.Cases(t, corpus.FHIR) {
		out[c.File] = c.Read(t)
	}
	return out
}

// The scanner decides whether the generic decode of runRules is needed;
// it must never skip a body on which the rules find something.
func TestScannerNeverSkipsABodyTheRulesFault(t *testing.T) {
	bodies := corpusBodies(t)
	crafted := map[string]string{
		"a period ending before it starts":       `{"resourceType":"Encounter","period":{"start":"2020","end":"2019"}}`,
		"an attachment whose size is wrong":      `{"resourceType":"DocumentReference","content":[{"attachment":{"data":"AAAA","size":9}}]}`,
		"items with enableWhen and no behaviour": `{"resourceType":"Questionnaire","item":[{"linkId":"1","enableWhen":[{},{}]}]}`,
		"a contained resource with a bad id":     `{"resourceType":"Patient","contained":[{"resourceType":"Organization","id":"a b"}]}`,
		"a root id with an escape":               `{"resourceType":"Patient","id":"a\u0020b"}`,
		"a search parameter on the wrong base":   `{"resourceType":"SearchParameter","base":["Patient"],"expression":"Observation.code"}`,
		"a Bundle with a relative fullUrl":       `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"Patient/1"}]}`,
		"an escaped resource type":               `{"resourceType":"\u0042undle","type":"collection","entry":[{"fullUrl":"x"}]}`,
		"a duplicate id whose last value is bad": `{"resourceType":"Patient","id":"ok","id":"a b"}`,
	}
	for name, b := range crafted {
		bodies["crafted/"+name] = []byte(b)
	}
	checked := 0
	for name, body := range bodies {
		doc, syntax, _ := scan(body, 0)
		if len(syntax) > 0 {
			continue
		}
		checked++
		if fs := runRules(body, rootOf(doc, body)); len(fs) > 0 && !doc.rules {
			t.Errorf("%s: the rules find %v but the scan said they need not run", name, fs)
		}
	}
	for name := range crafted {
		doc, _, _ := scan(bodies["crafted/"+name], 0)
		if !doc.rules {
			t.Errorf("crafted %s: scan says the rules need not run", name)
		}
	}
	t.Logf("%d bodies checked", checked)
}

// CheckScanned after Scan must give exactly Check's findings.
func TestCheckScannedEqualsCheck(t *testing.T) {
	for name, body := range corpusBodies(t) {
		for _, strict := range []bool{true, false} {
			opts := Options{Strict: strict}
			_, want := Check(body, opts)
			doc, _ := Scan(body)
			got := CheckScanned(body, doc, opts)
			again := CheckScanned(body, doc, opts) // the doc stays reusable
			sortFindings(want)
			sortFindings(got)
			sortFindings(again)
			if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(again, want) {
				t.Errorf("%s (strict %v): CheckScanned %v, Check %v", name, strict, got, want)
			}
		}
	}
}

// sortFindings orders findings whose order follows map iteration in
// runRules.
func sortFindings(fs validation.Findings) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Location != fs[j].Location {
			return fs[i].Location < fs[j].Location
		}
		return fs[i].Code < fs[j].Code
	})
}

// BenchmarkScan is the scanner alone over the valid corpus: what Parse
// spends on every FHIR request before google/fhir reads the body.
func BenchmarkScan(b *testing.B) {
	bodies := benchCorpus(b)
	for i := 0; b.Loop(); i++ {
		Scan(bodies[i%len(bodies)])
	}
}
