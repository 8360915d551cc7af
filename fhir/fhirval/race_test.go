//go:build race

package fhirval

// raceBuild is whether the tests run under the race detector, which makes
// google/fhir's unmarshal about forty times slower: the mutation test
// checks fewer mutants then.
const raceBuild = true
