// Package fhirpath evaluates FHIRPath expressions (the N1 normative
// release, as FHIR R4 uses it) over FHIR resources decoded from JSON.
//
// An expression is compiled once and then evaluated many times, by many
// goroutines if need be:
//
//	e, err := fhirpath.Compile("name.where(use = 'official').given.first()")
//	got, err := e.Evaluate(resource) // resource: map[string]any from encoding/json
//
// Decode resources with json.Decoder.UseNumber so decimals keep their
// precision. Compile reports *SyntaxError and *SemanticError with the byte
// offset of the problem; Evaluate reports *EvalError. CompileFor also
// checks the expression against a Model for a context type, so a misspelt
// invariant fails when compiled rather than silently yielding nothing: it
// refuses elements the type does not have, typed choice names
// (valueQuantity), a path headed by another resource type, string
// functions on complex elements, a plain number added to a date, a
// non-boolean literal as iif's criterion, and first(), last(), tail(),
// skip(), take() or an indexer on children() or descendants(), whose
// order is undefined. Types the model does not list completely are not
// checked.
//
// # Supported
//
//   - The full grammar: literals including quantities with UCUM units and
//     calendar durations, partial dates, date-times and times, long
//     integers, delimited identifiers, external constants (%resource,
//     %context, %rootResource, %ucum, %sct, %loinc, %vs-name, %ext-name and
//     variables from WithVariable), $this, $index, $total, indexers, is/as
//     with FHIR. and System. namespaces, comments.
//   - System types: Boolean, String, Integer (64-bit), Decimal (exact, with
//     its written scale), Date, DateTime and Time with partial precision and
//     zone offsets, Quantity with UCUM conversion for time, mass, length,
//     volume and amount units and the common customary units.
//   - FHIR elements over decoded JSON: choice elements by base name
//     (value finds valueQuantity, typed by the suffix), primitive
//     extensions and ids from "_name" siblings, resourceType for types,
//     FHIR primitives mapped to System values, FHIR Quantity to
//     System.Quantity.
//   - Functions: existence, filtering and projection, subsetting,
//     combining, conversion (to* and convertsTo*), string (RE2 regular
//     expressions), math, tree navigation, utility (iif, trace, now, today,
//     timeOfDay, type, sort), aggregate, lowBoundary/highBoundary/precision/
//     comparable, encode/decode, escape/unescape, and the FHIR functions
//     extension, hasValue, getValue, resolve (contained #id and Bundle
//     entries), htmlChecks (the R4 narrative rules) and conformsTo for core
//     StructureDefinitions.
//   - Budgets: evaluation is bounded in steps, recursion depth and the size
//     of strings and decimals; running out is an error wrapping ErrBudget.
//
// # Not supported, or different
//
//   - memberOf needs a terminology service and is always an error;
//     conformsTo knows only http://hl7.org/fhir/StructureDefinition/<Type>.
//   - Regular expressions are Go's RE2: no backreferences or lookaround,
//     which Java-based engines accept; such patterns are evaluation errors.
//   - The built-in Model is a small partial R4 table (the resources and data
//     types of the official test inputs and common invariants). Elements it
//     does not list still navigate but have no FHIR type, so is/as/ofType
//     on them only see types from choice suffixes and resourceType. Supply
//     a complete Model (WithModel, CompileFor) for full type information.
//   - children() and descendants() return members in key order (sorted),
//     because map[string]any does not keep the document order.
//   - A negative zero decimal prints as 0 (the suite's
//     LowBoundaryDecimal15 expects -0.0).
//   - The as() function filters a collection like ofType(), because the R4
//     core invariant dom-3 applies it to descendants(); the current spec and
//     the suite's testFHIRPathAsFunction21 make that an error. The as
//     operator needs a single item.
//     is() counts FHIR primitive specialisations (a code is a string);
//     as() and ofType() match primitives exactly, as the suite expects.
//   - Evaluation uses no reflection: complex elements compare member by
//     member over the decoded JSON.
package fhirpath

// The suite's XML inputs are converted to FHIR JSON once, with shapes
// learned from the official JSON examples beside them; see
// testdata/README.md.
//go:generate go run ./internal/xml2json -learn ../../testdata/corpus/fhir/valid/r4ex-Patient-example.json,../../testdata/corpus/fhir/valid/r4ex-Observation-example.json,../../testdata/corpus/fhir/valid/r4ex-Questionnaire-3141.json,testdata/inputs/examples-codesystem-example.json,testdata/inputs/examples-parameters-example.json -w testdata/inputs/patient-example.xml testdata/inputs/patient-example-period.xml testdata/inputs/observation-example.xml testdata/inputs/questionnaire-example.xml testdata/inputs/valueset-example-expansion.xml testdata/inputs/parameters-example-types.xml testdata/inputs/codesystem-example.xml
