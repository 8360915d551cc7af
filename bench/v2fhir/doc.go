// Package v2fhir sets the gateway's HL7 v2-to-FHIR conversion (`gateway
// convert`, issue 16) beside LinuxForHealth's hl7v2-fhir-converter (Java,
// Maven Central) on the project's HL7 v2 corpus, and validates what the
// gateway makes with HAPI FHIR's instance validator. The converters are
// black boxes: the gateway through its CLI, LinuxForHealth's through
// LfhConvert.java.
//
//	bash bench/v2fhir/lfh.sh fetch            # make test-deps does it
//	LFH_TESTS=1 go test -run SideBySide -v ./bench/v2fhir/
//	HAPIFHIR_TESTS=1 go test -run HAPI -v ./bench/v2fhir/
//
// TestSideBySide prints, per message type, the resources each converter
// makes and a coverage table of key elements (elements_test.go: each with
// the HL7 v2 fields it comes from); it fails where LinuxForHealth fills an
// element and the gateway does not although the message has the source
// field, and when the gateway converts fewer than 50 times as many
// messages per CPU-second. LinuxForHealth's CPU time is its converting
// thread's over timed passes after a warm-up pass (LFH_MIN_CPU, default
// 2s, bounds them); the gateway's is the rusage of `gateway convert` over
// 51 copies of the corpus less that over one copy (start-up excluded,
// garbage collection, parsing and output included).
//
// LFH_REQUIRED=1 and HAPIFHIR_REQUIRED=1 (make test) turn the skips for a
// missing JDK, converter, validator or convert command into failures.
package v2fhir
