package v2fhir

//go:generate go run ./internal/vocabgen/cmd/vocabgen ig vocab_gen.go

// concept is one FHIR coding an HL7 table code maps to.
type concept struct{ System, Code, Display string }
