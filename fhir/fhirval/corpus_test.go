package fhirval

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

var update = flag.Bool("update", false, "rewrite golden files")

// corpusCase is one case of the FHIR corpus, with the columns these tests
// read.
type corpusCase struct {
	file, verdict, reason, outcome string
}

// excluded reports whether the reference verdict needs a terminology
// server or non-default validator options, as the manifest marks it.
func (c corpusCase) excluded() bool {
	return strings.Contains(c.reason, "[terminology-server dependent") ||
		strings.Contains(c.reason, "[non-default validator options")
}

func readManifest(t testing.TB) []corpusCase {
	t.Helper()
	var out []corpusCase
	for _, c := range corpus.Cases(t, corpus.FHIR) {
		out = append(out, corpusCase{file: c.File, verdict: c.Verdict, reason: c.Columns["reason"], outcome: c.Columns["expected_outcome"]})
	}
	return out
}

// knownMisses are the corpus files where strict validation disagrees with
// the HL7 reference validator (excluded cases aside). The test fails when
// the set changes, in either direction.
var knownMisses = map[string]string{
	"valid/r4ex-DeviceMetric-example.json":                        "DeviceMetric.parent allows Device only and the example points at a DeviceDefinition: google/fhir refuses the target type; HAPI 8.8's validator accepts it (bench/hapival), the gateway keeps the stricter reading of R4",
	"valid/r4ex-Observation-clinical-gender.json":                 "Observation.performer does not allow Encounter, which the example names: google/fhir refuses the target type, HAPI 8.8 accepts it; the stricter reading of R4 is kept",
	"valid/r4ex-Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json": "entry 2's fullUrl .../Patient/pat12 looks RESTful but its resource's id is pat2: R4 bundle.html says the id portion SHALL end with Resource.id; the Java validator refuses it (BUNDLE_ENTRY_URL_MATCHES_TYPE_ID), and so does the gateway",
	"valid/r4ex-Bundle-lri-example.json":                          "fullUrls .../Observation/lri-gramstain1 and so on for resources whose ids are gramstain1 and so on: the same SHALL of bundle.html, refused by the Java validator and the gateway",
	"invalid/ftc-PulseOxBundle_25Oct2022.json":                    "wrong LOINC display names: needs a terminology server (not marked as such in the manifest)",
	"invalid/ftc-bundle-id-collection.json":                       "wrong CVX display name: needs a terminology server (not marked)",
	"invalid/ftc-shc-cvx.json":                                    "unknown CVX code: needs a terminology server (not marked)",
	"invalid/ftc-nested-questionnaire-nested-valueset.json":       "unresolvable SDC extension definition: needs the IG package; refusing every unknown hl7.org IG extension would refuse US Core data",
}

func TestCorpusAgreement(t *testing.T) {
	var valid, accepted, eligible, refused int
	misses := map[string]bool{}
	for _, c := range readManifest(t) {
		body := corpus.Read(t, corpus.FHIR, c.file)
		_, fs := Validate(body, Options{Strict: true})
		rejected := fs.HasErrors()
		switch {
		case c.verdict == "valid":
			valid++
			if !rejected {
				accepted++
			} else {
				misses[c.file] = true
			}
		case c.excluded():
			continue
		default:
			eligible++
			if rejected {
				refused++
			} else {
				misses[c.file] = true
			}
		}
	}
	t.Logf("strict accepts %d/%d valid (%.1f%%), refuses %d/%d eligible invalid (%.1f%%)",
		accepted, valid, 100*float64(accepted)/float64(valid), refused, eligible, 100*float64(refused)/float64(eligible))
	if float64(accepted) < 0.99*float64(valid) {
		t.Errorf("strict accepts %d of %d valid resources, want >= 99%%", accepted, valid)
	}
	if float64(refused) < 0.80*float64(eligible) {
		t.Errorf("strict refuses %d of %d invalid resources, want >= 80%%", refused, eligible)
	}
	for f := range misses {
		if _, ok := knownMisses[f]; !ok {
			t.Errorf("new disagreement with the reference validator: %s", f)
		}
	}
	for f := range knownMisses {
		if !misses[f] {
			t.Errorf("%s now agrees with the reference validator: remove it from knownMisses", f)
		}
	}
}

// javaComment strips the Java validator's /*Type/id*/ annotations from
// its expressions.
var javaComment = regexp.MustCompile(`/\*[^*]*\*/`)

// TestExpectedOutcomeLocations compares, for every invalid case with a
// reference OperationOutcome, the error locations the reference validator
// reports with ours. The comparison is recorded in
// testdata/locations.golden (run with -update to rewrite it).
func TestExpectedOutcomeLocations(t *testing.T) {
	var b strings.Builder
	var total, matched int
	for _, c := range readManifest(t) {
		if c.verdict != "invalid" || c.outcome == "" {
			continue
		}
		want := expectedLocations(t, corpus.Path(corpus.FHIR, c.outcome))
		body := corpus.Read(t, corpus.FHIR, c.file)
		_, fs := Validate(body, Options{Strict: true})
		got := map[string]bool{}
		for _, f := range fs {
			if f.Severity == validation.SeverityError {
				got[f.Location] = true
			}
		}
		var hit, miss, extra []string
		for _, w := range want {
			if got[w] {
				hit = append(hit, w)
			} else {
				miss = append(miss, w)
			}
		}
		for g := range got {
			if !contains(want, g) {
				extra = append(extra, g)
			}
		}
		sort.Strings(extra)
		total += len(want)
		matched += len(hit)
		fmt.Fprintf(&b, "%s\texpected=%d matched=%d\tmissed=%s\textra=%s\n", c.file, len(want), len(hit),
			strings.Join(miss, ","), strings.Join(extra, ","))
	}
	fmt.Fprintf(&b, "TOTAL\texpected=%d matched=%d\n", total, matched)
	t.Logf("error locations: %d of %d reference locations matched", matched, total)
	golden := "testdata/locations.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != b.String() {
		t.Errorf("location comparison changed; run with -update and review:\n%s", b.String())
	}
}

func expectedLocations(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var oo struct {
		Issue []struct {
			Severity   string   `json:"severity"`
			Expression []string `json:"expression"`
			Location   []string `json:"location"`
		} `json:"issue"`
	}
	if err := json.Unmarshal(b, &oo); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []string
	for _, is := range oo.Issue {
		if is.Severity != "error" && is.Severity != "fatal" {
			continue
		}
		locs := is.Expression
		if len(locs) == 0 {
			locs = is.Location
		}
		for _, l := range locs {
			l = javaComment.ReplaceAllString(l, "")
			if !contains(out, l) {
				out = append(out, l)
			}
		}
	}
	return out
}
