// Package v2fhir sets the gateway's HL7 v2-to-FHIR conversion (`gateway
// convert`, issue 16) beside LinuxForHealth's hl7v2-fhir-converter (Java,
// Maven Central, v1.1.0) on the project's HL7 v2 corpus (its valid messages
// of the types issue 16 lists, through internal/corpus), and validates what
// the gateway makes with HAPI FHIR's instance validator. Both converters are
// black boxes: the gateway through its CLI, LinuxForHealth's through
// LfhConvert.java.
//
//	bash bench/v2fhir/lfh.sh fetch            # make test-deps does it
//	LFH_TESTS=1 go test -run SideBySide -v ./bench/v2fhir/
//	HAPIFHIR_TESTS=1 go test -run HAPI -v ./bench/v2fhir/
//	make bench-v2fhir                         # the first, with 10 s of timed passes
//
// TestSideBySide prints, per message type, the resources each converter
// makes and a coverage table of key elements (elements_test.go: each with
// the HL7 v2 fields it comes from); it fails where LinuxForHealth fills an
// element and the gateway does not although the message has the source
// field, where LinuxForHealth converts a message the gateway refuses, and
// when the gateway converts fewer than 50 times as many messages per
// CPU-second. LinuxForHealth's CPU time is its converting thread's over
// timed passes after a warm-up pass (LFH_MIN_CPU, default 2s, bounds them),
// averaged over every message, those it refuses too; the gateway's is the
// rusage of `gateway convert` over 51 copies of the messages it converts
// less that over one copy (start-up excluded; parsing, garbage collection
// and writing the Bundles included). Both figures lean towards
// LinuxForHealth.
//
// TestHAPIValidatesConvertedCorpus validates every distinct resource of
// every Bundle with HAPI FHIR 8.8 (test/hapifhir/hapi.sh's class path,
// offline, R4 core) and fails on any error, listing resource, location and
// message; warnings and information are counted.
//
// The tests build ./cmd/gateway, or run GATEWAY_BIN. LFH_REQUIRED=1 and
// HAPIFHIR_REQUIRED=1 (make test) turn the skips for a missing JDK,
// converter, validator or convert command into failures.
package v2fhir
