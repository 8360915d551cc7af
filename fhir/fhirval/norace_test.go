//go:build !race

package fhirval

// raceBuild: see race_test.go.
const raceBuild = false
