package fhirpath

// The suite's XML inputs are converted to FHIR JSON once, with shapes
// learned from the official JSON examples beside them; see
// testdata/README.md.
//go:generate go run ./internal/xml2json -learn testdata/inputs/examples-patient-example.json,testdata/inputs/examples-observation-example.json,testdata/inputs/examples-questionnaire-example.json,testdata/inputs/examples-codesystem-example.json,testdata/inputs/examples-parameters-example.json -w testdata/inputs/patient-example.xml testdata/inputs/patient-example-period.xml testdata/inputs/observation-example.xml testdata/inputs/questionnaire-example.xml testdata/inputs/valueset-example-expansion.xml testdata/inputs/parameters-example-types.xml testdata/inputs/codesystem-example.xml
