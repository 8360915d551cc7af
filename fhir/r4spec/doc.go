// Package r4spec is the FHIR R4 (4.0.1) core specification as data: every
// primitive type, complex type and resource with its elements' cardinality,
// types and required bindings, the error-severity constraints (invariants)
// with their FHIRPath expressions, and the codes of the required-binding
// value sets that the core package enumerates. The tables are generated
// from the published definitions (see SOURCE.md and internal/gen) into
// r4_gen.go and parsed once, on first use; everything is read-only and safe
// for concurrent use.
//
// Spec implements fhirpath.Model, so that FHIRPath expressions compiled or
// evaluated with it know the type of every element.
//
// Not covered: codes from external terminologies (SNOMED CT, LOINC, UCUM,
// BCP-47 languages, MIME types, ISO currencies): value sets that need them
// are listed by UncheckedValueSet with the reason, and never checked.
// Warning-severity constraints (best practices such as dom-6) are left out.
package r4spec

//go:generate sh -c "cd ../.. && go run ./fhir/r4spec/internal/gen -jar \"$(bash fhir/r4spec/fetch.sh)\" -out fhir/r4spec/r4_gen.go"
