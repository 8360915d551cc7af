package fhirval

import (
	"testing"
)

// TestCoreExtensionUse covers the checks on the core's own extensions:
// where they may be used, modifier or not, and their value types.
func TestCoreExtensionUse(t *testing.T) {
	const (
		sd        = "http://hl7.org/fhir/StructureDefinition/"
		birthTime = `{"url":"` + sd + `patient-birthTime","valueDateTime":"2020-01-01T10:00:00Z"}`
		maiden    = `{"url":"` + sd + `patient-mothersMaidenName","valueString":"x"}`
		ownPrefix = `{"url":"` + sd + `humanname-own-prefix","valueString":"van"}`
		street    = `{"url":"` + sd + `iso21090-ADXP-streetName","valueString":"Main"}`
		absent    = `{"url":"` + sd + `data-absent-reason","valueCode":"unknown"}`
		pqTransl  = `{"url":"` + sd + `iso21090-PQ-translation","valueQuantity":{"value":1}}`
		obs       = `"resourceType":"Observation","status":"final","code":{"text":"x"}`
	)
	tests := []strictCase{
		{"an extension on the element its context names is accepted",
			`{"resourceType":"Patient","birthDate":"2020-01-01","_birthDate":{"extension":[` + birthTime + `]}}`, "", ""},
		{"an extension on a resource its context names is accepted",
			`{"resourceType":"Patient","extension":[` + maiden + `]}`, "", ""},
		{"an extension on another resource than its context is refused",
			`{"resourceType":"Practitioner","extension":[` + maiden + `]}`, "Practitioner.extension[0]", "extension " + sd + "patient-mothersMaidenName is not allowed here"},
		{"an extension on the resource instead of its element is refused",
			`{"resourceType":"Patient","extension":[` + birthTime + `]}`, "Patient.extension[0]", "extension " + sd + "patient-birthTime is not allowed here"},
		{"a data type element context holds wherever the data type is used",
			`{"resourceType":"RelatedPerson","patient":{"reference":"Patient/1"},"name":[{"family":"x","_family":{"extension":[` + ownPrefix + `]}}]}`, "", ""},
		{"a data type element context holds inside a backbone element",
			`{"resourceType":"Patient","contact":[{"address":{"line":["1"],"_line":[{"extension":[` + street + `]}]}}]}`, "", ""},
		{"a data type element context does not hold on a sibling element",
			`{"resourceType":"Patient","name":[{"given":["x"],"_given":[{"extension":[` + ownPrefix + `]}]}]}`,
			"Patient.name[0].given[0].extension[0]", "extension " + sd + "humanname-own-prefix is not allowed here"},
		{"an Element context holds anywhere, primitives included",
			`{"resourceType":"Patient","gender":"unknown","_gender":{"extension":[` + absent + `]},"extension":[` + absent + `]}`, "", ""},
		{"a data type context holds on its specialisations",
			`{` + obs + `,"valueQuantity":{"value":1,"extension":[` + pqTransl + `]}}`, "", ""},
		{"a data type context does not hold on another data type",
			`{` + obs + `,"valueRange":{"low":{"value":1}},"extension":[` + pqTransl + `]}`, "Observation.extension[0]", "extension " + sd + "iso21090-PQ-translation is not allowed here"},
		{"contexts are checked inside Bundle entries against the entry's resource",
			`{"resourceType":"Bundle","type":"collection","entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Practitioner","extension":[` + maiden + `]}}]}`,
			"Bundle.entry[0].resource.extension[0]", "extension " + sd + "patient-mothersMaidenName is not allowed here"},
		{"contexts hold inside contained resources",
			`{"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"#p"},"contained":[{"resourceType":"Patient","id":"p","extension":[` + maiden + `]}]}`, "", ""},
		{"a modifier extension in extension is refused",
			`{"resourceType":"NutritionOrder","status":"active","intent":"order","patient":{"reference":"Patient/1"},"dateTime":"2020-01-01","extension":[{"url":"` + sd + `request-doNotPerform","valueBoolean":true}]}`,
			"NutritionOrder.extension[0]", "extension " + sd + "request-doNotPerform is a modifier extension"},
		{"a modifier extension in modifierExtension is accepted",
			`{"resourceType":"NutritionOrder","status":"active","intent":"order","patient":{"reference":"Patient/1"},"dateTime":"2020-01-01","modifierExtension":[{"url":"` + sd + `request-doNotPerform","valueBoolean":true}]}`, "", ""},
		{"an ordinary extension in modifierExtension is refused",
			`{"resourceType":"Patient","modifierExtension":[` + maiden + `]}`, "Patient.modifierExtension[0]", "extension " + sd + "patient-mothersMaidenName is not a modifier extension"},
		{"a value of a type the definition does not allow is refused",
			`{"resourceType":"Patient","extension":[{"url":"` + sd + `patient-mothersMaidenName","valueCode":"x"}]}`,
			"Patient.extension[0].valueCode", "extension " + sd + "patient-mothersMaidenName takes a value of type string"},
		{"a complex extension with a value is refused",
			`{"resourceType":"Patient","extension":[{"url":"` + sd + `patient-nationality","valueString":"x"}]}`,
			"Patient.extension[0].valueString", "extension " + sd + "patient-nationality is complex"},
		{"extensions the core does not define are not checked",
			`{"resourceType":"Practitioner","extension":[{"url":"http://example.org/mine","valueCode":"x"}]}`, "", ""},
	}
	runStrictCases(t, tests)
}
