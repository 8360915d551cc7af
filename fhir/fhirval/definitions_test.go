package fhirval

import (
	"strings"
	"testing"
)

// TestDefinitions covers what the R4 definitions add to google/fhir:
// invariants with their key and location, nested cardinality, required
// bindings of Codings and CodeableConcepts, and what is left alone.
func TestDefinitions(t *testing.T) {
	const cond = `"subject":{"reference":"Patient/1"}`
	tests := []strictCase{
		{"a patient contact with no details breaks pat-1 at the contact",
			`{"resourceType":"Patient","contact":[{"name":{"family":"x"}},{"gender":"male"}]}`, "Patient.contact[1]", "pat-1: "},
		{"a probability above 100 breaks ras-2",
			`{"resourceType":"RiskAssessment","status":"final",` + cond + `,"prediction":[{"probabilityDecimal":150}]}`, "RiskAssessment.prediction[0]", "ras-2: "},
		{"a total on a collection Bundle breaks bdl-1",
			`{"resourceType":"Bundle","type":"collection","total":1}`, "Bundle", "bdl-1: "},
		{"an Expression with neither expression nor reference breaks exp-1",
			`{"resourceType":"PlanDefinition","status":"draft","action":[{"condition":[{"kind":"applicability","expression":{"language":"text/fhirpath"}}]}]}`,
			"PlanDefinition.action[0].condition[0].expression", "exp-1: "},
		{"an exists enableWhen with a boolean answer passes que-7 as R4B reads it",
			`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"string","enableWhen":[{"question":"0","operator":"exists","answerBoolean":true}]}]}`, "", ""},
		{"an exists enableWhen with a string answer breaks que-7",
			`{"resourceType":"Questionnaire","status":"draft","item":[{"linkId":"1","type":"string","enableWhen":[{"question":"0","operator":"exists","answerString":"x"}]}]}`,
			"Questionnaire.item[0].enableWhen[0]", "que-7: "},
		{"a mandatory element of a backbone element is required",
			`{"resourceType":"Patient","link":[{"type":"seealso"}]}`, "Patient.link[0].other", "required element missing"},
		{"an element with only an id breaks ele-1",
			`{"resourceType":"Patient","name":[{"id":"n1"}]}`, "Patient.name[0]", "ele-1: "},
		{"an extension with a value and extensions breaks ext-1",
			`{"resourceType":"Patient","extension":[{"url":"http://x.org/e","valueString":"a","extension":[{"url":"b","valueString":"c"}]}]}`,
			"Patient.extension[0]", "ext-1: "},
		{"a comparator on a Range bound breaks sqty-1",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueRange":{"low":{"value":1,"comparator":"<"}}}`,
			"Observation.valueRange.low", "sqty-1: "},
		{"a script in the narrative breaks txt-1",
			`{"resourceType":"Patient","text":{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x()</script></div>"}}`,
			"Patient.text.div", "txt-1: "},
		{"a CodeableConcept with no coding of its required value set is refused",
			`{"resourceType":"Condition",` + cond + `,"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"sleeping"}]}}`,
			"Condition.clinicalStatus", "no coding in the required value set"},
		{"a CodeableConcept with one bound coding among others is accepted",
			`{"resourceType":"Condition",` + cond + `,"clinicalStatus":{"coding":[{"system":"http://x.org","code":"a"},{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"active"}]}}`, "", ""},
		{"a code of an external terminology is not checked",
			`{"resourceType":"Patient","photo":[{"contentType":"image/made-up","url":"http://x.org/p"}]}`, "", ""},
		{"invariants apply inside contained resources",
			`{"resourceType":"Patient","contained":[{"resourceType":"Patient","id":"c","contact":[{"gender":"male"}]}],"generalPractitioner":[{"reference":"#c"}]}`,
			"Patient.contained[0].contact[0]", "pat-1: "},
		{"invariants apply inside Bundle entries",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Patient","contact":[{"gender":"male"}]}}]}`,
			"Bundle.entry[0].resource.contact[0]", "pat-1: "},
		{"a mandatory choice of SimpleQuantity is present as valueQuantity",
			`{"resourceType":"Coverage","status":"active","beneficiary":{"reference":"Patient/1"},"payor":[{"reference":"Organization/1"}],"costToBeneficiary":[{"valueQuantity":{"value":5}}]}`, "", ""},
		{"a choice typed SimpleQuantity is checked as one",
			`{"resourceType":"MedicationRequest","status":"active","intent":"order","medicationCodeableConcept":{"text":"x"},"subject":{"reference":"Patient/1"},"dosageInstruction":[{"doseAndRate":[{"doseQuantity":{"value":1,"comparator":"<"}}]}]}`,
			"MedicationRequest.dosageInstruction[0].doseAndRate[0].doseQuantity", "sqty-1: "},
		{"an element named resourceType is not a resource",
			`{"resourceType":"ExampleScenario","status":"draft","instance":[{"resourceId":"a","resourceType":"Patient"}]}`, "", ""},
	}
	runStrictCases(t, tests)
}

func TestLenientReportsInvariantsAsWarnings(t *testing.T) {
	body := []byte(`{"resourceType":"Patient","contact":[{"gender":"male"}]}`)
	_, fs := Validate(body, Options{})
	if fs.HasErrors() {
		t.Fatalf("lenient refused: %v", fs)
	}
	for _, f := range fs {
		if f.Location == "Patient.contact[0]" && strings.HasPrefix(f.Message, "pat-1: ") {
			return
		}
	}
	t.Errorf("no pat-1 warning in %v", fs)
}

// BenchmarkDefinitions is the R4 definitions step alone over the valid
// corpus (the generic decode and the walk with every invariant), the part
// of BenchmarkValidate this step adds.
func BenchmarkDefinitions(b *testing.B) {
	bodies := benchCorpus(b)
	defer reportCPU(b)()
	for i := 0; b.Loop(); i++ {
		body := bodies[i%len(bodies)]
		if v, ok := decodeGeneric(body); ok {
			definitionFindings(v.(map[string]any), "Resource")
		}
	}
}
