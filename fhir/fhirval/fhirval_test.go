package fhirval

import (
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/hl7gw/gateway/internal/corpus"
	"github.com/hl7gw/gateway/validation"
)

func TestValidate(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200)
	tests := []struct {
		name      string
		body      string
		strict    bool
		wantType  string
		wantError bool
		wantCode  validation.Code
		wantLoc   string
	}{
		{name: "a minimal patient is accepted in strict mode", body: `{"resourceType":"Patient","id":"p1","active":true}`, strict: true, wantType: "Patient"},
		{name: "an unknown element is an error in strict mode", body: `{"resourceType":"Patient","foo":1}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.foo"},
		{name: "an unknown element is only a warning in lenient mode", body: `{"resourceType":"Patient","foo":1}`, wantType: "Patient", wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.foo"},
		{name: "a bad date is a data type error at its element", body: `{"resourceType":"Patient","birthDate":"1999-13-45"}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Patient.birthDate"},
		{name: "a missing required element is reported with its path", body: `{"resourceType":"Observation","code":{"text":"x"}}`, strict: true, wantType: "Observation", wantError: true, wantCode: validation.CodeRequiredMissing, wantLoc: "Observation.status"},
		{name: "a code outside its required value set is a table error", body: `{"resourceType":"Patient","gender":"robot"}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeTableValue, wantLoc: "Patient.gender"},
		{name: "choice elements are named with their type", body: `{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":"high"}}`, strict: true, wantType: "Observation", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Observation.valueQuantity.value"},
		{name: "errors inside bundle entries point into the entry resource", body: `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":{"resourceType":"Patient","birthDate":"x"},"request":{"method":"POST","url":"Patient"}}]}`, strict: true, wantType: "Bundle", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Bundle.entry[0].resource.birthDate"},
		{name: "duplicate member names are an error in strict mode", body: `{"resourceType":"Patient","active":true,"active":false}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.active"},
		{name: "empty arrays are an error in strict mode", body: `{"resourceType":"Patient","name":[]}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeRequiredMissing, wantLoc: "Patient.name"},
		{name: "comments are refused even in lenient mode", body: "{\"resourceType\":\"Patient\", // hi\n\"active\":true}", wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.resourceType"},
		{name: "trailing commas are refused even in lenient mode", body: `{"resourceType":"Patient","name":[{"family":"x"},]}`, wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.name"},
		{name: "invalid UTF-8 is refused", body: "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"\xff\"}]}", wantType: "Patient", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Patient.name[0].family"},
		{name: "nesting deeper than the limit is refused without recursion", body: deep, wantError: true, wantCode: validation.CodeSegmentSequence},
		{name: "numbers with leading zeros are refused", body: `{"resourceType":"Patient","multipleBirthInteger":01}`, wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Patient.multipleBirthInteger"},
		{name: "an integer out of range is a data type error", body: `{"resourceType":"Patient","multipleBirthInteger":99999999999}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Patient.multipleBirthInteger"},
		{name: "a JSON array is not a resource", body: `[1,2]`, wantError: true, wantCode: validation.CodeSegmentSequence},
		{name: "an unknown resource type is refused even in lenient mode", body: `{"resourceType":"Patients"}`, wantType: "Patients", wantError: true, wantCode: validation.CodeUnsupportedType, wantLoc: "Resource.resourceType"},
		{name: "a missing resource type is refused", body: `{"id":"x"}`, wantError: true, wantCode: validation.CodeRequiredMissing, wantLoc: "Resource.resourceType"},
		{name: "a bad resource id is an error in strict mode", body: `{"resourceType":"Patient","id":"a b"}`, strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Patient.id"},
		{name: "a relative fullUrl is an error in strict mode", body: `{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"Patient/1","resource":{"resourceType":"Patient","id":"1"}}]}`, strict: true, wantType: "Bundle", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Bundle.entry[0]"},
		{name: "a resource inside Parameters.parameter is read as that resource", body: `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","id":"p1","active":true}}]}`, strict: true, wantType: "Parameters"},
		{name: "a Bundle inside Parameters.parameter.part is read as a Bundle", body: `{"resourceType":"Parameters","parameter":[{"name":"p","part":[{"name":"q","resource":{"resourceType":"Bundle","id":"b","type":"transaction"}}]}]}`, strict: true, wantType: "Parameters"},
		{name: "errors inside a parameter's resource point into it", body: `{"resourceType":"Parameters","parameter":[{"name":"a"},{"name":"p","resource":{"resourceType":"Patient","birthDate":"x"}}]}`, strict: true, wantType: "Parameters", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Parameters.parameter[1].resource.birthDate"},
		{name: "an unknown element inside a parameter's resource is still unknown", body: `{"resourceType":"Parameters","parameter":[{"name":"p","resource":{"resourceType":"Patient","foo":1}}]}`, strict: true, wantType: "Parameters", wantError: true, wantCode: validation.CodeSegmentSequence, wantLoc: "Parameters.parameter[0].resource.foo"},
		{name: "a leading byte-order mark is accepted in strict mode", body: "\xef\xbb\xbf{\"resourceType\":\"Patient\",\"active\":true}", strict: true, wantType: "Patient"},
		{name: "a leading byte-order mark is accepted in lenient mode", body: "\xef\xbb\xbf\n{\"resourceType\":\"Patient\"}", wantType: "Patient"},
		{name: "a byte-order mark does not hide errors after it", body: "\xef\xbb\xbf{\"resourceType\":\"Patient\",\"gender\":\"robot\"}", strict: true, wantType: "Patient", wantError: true, wantCode: validation.CodeTableValue, wantLoc: "Patient.gender"},
		{name: "a byte-order mark anywhere else is not JSON", body: "{\"resourceType\":\"Patient\"}\xef\xbb\xbf", wantType: "Patient", wantError: true, wantCode: validation.CodeSegmentSequence},
		{name: "two byte-order marks are not JSON", body: "\xef\xbb\xbf\xef\xbb\xbf{\"resourceType\":\"Patient\"}", wantError: true, wantCode: validation.CodeSegmentSequence},
		{name: "a period ending before it starts is an error in strict mode", body: `{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"period":{"start":"2020-02-01","end":"2020-01-01"}}`, strict: true, wantType: "Encounter", wantError: true, wantCode: validation.CodeDataType, wantLoc: "Encounter.period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, fs := Validate([]byte(tt.body), Options{Strict: tt.strict})
			if rt != tt.wantType {
				t.Errorf("resourceType = %q, want %q", rt, tt.wantType)
			}
			if fs.HasErrors() != tt.wantError {
				t.Fatalf("HasErrors = %v, want %v; findings %v", fs.HasErrors(), tt.wantError, fs)
			}
			if tt.wantCode == validation.CodeOK {
				if len(fs) != 0 {
					t.Fatalf("unexpected findings %v", fs)
				}
				return
			}
			for _, f := range fs {
				if f.Code == tt.wantCode && (tt.wantLoc == "" || f.Location == tt.wantLoc) {
					return
				}
			}
			t.Errorf("no finding %d at %q in %v", tt.wantCode, tt.wantLoc, fs)
		})
	}
}

func TestFindingsNeverCarryValues(t *testing.T) {
	body := `{"resourceType":"Patient","id":"secret id","birthDate":"SECRET-DATE","gender":"SECRETGENDER",` +
		`"name":[{"family":"","given":["SECRETNAME",]}],"SECRET KEY":1}`
	for _, strict := range []bool{true, false} {
		_, fs := Validate([]byte(body), Options{Strict: strict})
		body2 := strings.Replace(body, ",]", "]", 1)
		_, fs2 := Validate([]byte(body2), Options{Strict: strict})
		for _, f := range append(fs, fs2...) {
			if strings.Contains(strings.ToUpper(f.String()), "SECRET") {
				t.Errorf("finding carries a value: %s", f)
			}
		}
		if len(fs2) < 4 {
			t.Errorf("expected several findings, got %v", fs2)
		}
	}
}

func TestLenientNeverRefusesAKnownResource(t *testing.T) {
	for _, c := range corpus.Cases(t, corpus.FHIR) {
		f, body := c.File, c.Read(t)
		doc, syntax := Scan(body)
		if len(syntax) > 0 || !KnownResourceType(doc.ResourceType) {
			continue
		}
		if _, fs := Validate(body, Options{}); fs.HasErrors() {
			t.Errorf("%s: lenient mode refused a well-formed %s: %v", f, doc.ResourceType, fs)
		}
	}
}

func TestCheckFile(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		strict bool
		ok     bool
		reason string
	}{
		{name: "an official example passes strict", file: corpus.Path(corpus.FHIR, "valid/r4ex-Patient-example.json"), strict: true, ok: true},
		{name: "a bad id fails strict", file: corpus.Path(corpus.FHIR, "invalid/ftc-patient-id-bad-2.json"), strict: true, ok: false, reason: "error 102 at Patient.id"},
		{name: "a bad id is a warning in lenient mode", file: corpus.Path(corpus.FHIR, "invalid/ftc-patient-id-bad-2.json"), ok: true, reason: "warning"},
		{name: "a missing file fails", file: "testdata/does-not-exist.json", ok: false, reason: "cannot read file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, reason := CheckFile(tt.file, tt.strict)
			if ok != tt.ok || !strings.Contains(reason, tt.reason) {
				t.Errorf("CheckFile = %v, %q; want %v, containing %q", ok, reason, tt.ok, tt.reason)
			}
		})
	}
}

func TestFHIRPathNormalisation(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"resource type segments under Bundle.entry.resource are dropped", "Bundle.entry[0].resource.patient.name[0]", "Bundle.entry[0].resource.name[0]"},
		{"upper-case resource types from the parse phase are dropped too", "Bundle.entry[1].resource.Observation.status", "Bundle.entry[1].resource.status"},
		{"choice elements are joined with their type", "Observation.value.quantity.value", "Observation.valueQuantity.value"},
		{"contained resources keep their index", "Patient.contained[0].Organization.name", "Patient.contained[0].name"},
		{"unknown segments are kept sanitised", "Patient.we ird.x", "Patient.*.x"},
		{"an unknown root becomes Resource", "Nope.a", "Resource.a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fhirPath(tt.in); got != tt.want {
				t.Errorf("fhirPath(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzValidate checks that no input panics, that findings are valid UTF-8
// and carry locations rooted at a resource type, and that lenient mode
// never has more errors than strict mode, and that the scan never skips
// the rules on a body they fault.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"resourceType":"Patient","id":"x"}`))
	// Keys that name no element where an invariant walks descendants():
	// the empty key once panicked the walk (and a gRPC door with it).
	f.Add([]byte(`{"resourceType":"Questionnaire","status":"draft","":[],"_":{},"item":[{"linkId":"a","":1}]}`))
	for _, c := range corpus.Select(f, corpus.FHIR, corpus.Invalid) {
		f.Add(c.Read(f))
	}
	for _, file := range fuzzSeedValid {
		f.Add(corpus.Read(f, corpus.FHIR, file))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rt, strict := Validate(body, Options{Strict: true})
		_, lenient := Validate(body, Options{})
		if len(strict) > maxFindings || len(lenient) > maxFindings {
			t.Fatalf("unbounded findings: %d/%d", len(strict), len(lenient))
		}
		if lenient.HasErrors() && !strict.HasErrors() {
			t.Fatalf("lenient refused what strict accepted: %v", lenient)
		}
		for _, fd := range append(strict, lenient...) {
			if !utf8.ValidString(fd.Location) || !utf8.ValidString(fd.Message) {
				t.Fatalf("finding is not UTF-8: %q", fd)
			}
		}
		if rt != "" && !utf8.ValidString(rt) {
			t.Fatalf("resource type is not UTF-8")
		}
		if doc, syntax := Scan(body); len(syntax) == 0 {
			if fs := runRules(body, rootOf(doc, body)); len(fs) > 0 && !doc.rules {
				t.Fatalf("the rules find %v but the scan said they need not run", fs)
			}
		}
	})
}

func BenchmarkValidate(b *testing.B) {
	bodies := benchCorpus(b)
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		Validate(bodies[i%len(bodies)], Options{Strict: true})
	}
}

// reportCPU adds the process CPU time per operation (cpu-ns/op) to a
// benchmark: on a machine shared with other work, wall-clock ns/op varies
// run to run far more than CPU time does. Call as defer reportCPU(b)().
func reportCPU(b *testing.B) func() {
	start := processCPU()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkGoogleUnmarshal is the plain google/fhir validating unmarshal of
// the same corpus, the baseline BenchmarkValidate is compared with.
func BenchmarkGoogleUnmarshal(b *testing.B) {
	var bodies [][]byte
	var total int64
	for _, c := range corpus.Select(b, corpus.FHIR, corpus.Valid) {
		body := c.Read(b)
		bodies = append(bodies, body)
		total += int64(len(body))
	}
	u, err := r4Unmarshaller()
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total / int64(len(bodies)))
	b.ResetTimer()
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		_, _ = u.Unmarshal(bodies[i%len(bodies)])
	}
}

// benchCorpus reads the valid corpus and sets b's bytes per operation to
// the mean body size.
func benchCorpus(b *testing.B) [][]byte {
	b.Helper()
	var bodies [][]byte
	var total int64
	for _, c := range corpus.Select(b, corpus.FHIR, corpus.Valid) {
		body := c.Read(b)
		bodies = append(bodies, body)
		total += int64(len(body))
	}
	b.SetBytes(total / int64(len(bodies)))
	return bodies
}

// fuzzSeedValid are the valid FHIR corpus files FuzzValidate starts from
// at test time besides every invalid one: test cases next to invalid ones
// (bindings, slicing, security labels, min/max values) and official
// examples of large or unusual resources.
var fuzzSeedValid = []string{
	"valid/ftc-additional-bindings-observation.json",
	"valid/ftc-ai2.json",
	"valid/ftc-dr-example-org-2.json",
	"valid/ftc-obs-value-max-g.json",
	"valid/ftc-obs-value-min.json",
	"valid/ftc-pat-security-good2.json",
	"valid/ftc-pat-security-good3.json",
	"valid/ftc-patient-min-fixed1.json",
	"valid/ftc-patient-min-none1.json",
	"valid/ftc-patient-min-pattern1.json",
	"valid/ftc-questionnaire__brianpos__questionnaire-not-resolved-qr.json",
	"valid/ftc-resource-invalid-eid-0.json",
	"valid/ftc-resource-invalid-id-0.json",
	"valid/r4ex-CommunicationRequest-example.json",
	"valid/r4ex-DetectedIssue-allergy.json",
	"valid/r4ex-DetectedIssue-lab.json",
	"valid/r4ex-DeviceDefinition-example.json",
	"valid/r4ex-Evidence-example.json",
	"valid/r4ex-EvidenceVariable-example.json",
	"valid/r4ex-InsurancePlan-example.json",
	"valid/r4ex-Medication-medicationexample1.json",
	"valid/r4ex-OperationOutcome-allok.json",
	"valid/r4ex-Procedure-appendectomy-narrative.json",
	"valid/r4ex-ResearchStudy-example.json",
	"valid/r4ex-SubstanceSpecification-example.json",
}
