// Package hapival sets the gateway's FHIR validation beside HAPI FHIR's
// instance validator on the corpus of fhir/fhirval: which resources
// each refuses against the expected verdicts (an agreement matrix), and the
// CPU time each spends on one pass over the corpus.
//
//	bash bench/hapival/run.sh > /tmp/hapi.tsv
//	HAPIVAL_TSV=/tmp/hapi.tsv go test -run SideBySide -v ./bench/hapival/
//
// run.sh fetches HAPI FHIR from Maven Central (test/hapifhir/hapi.sh) and
// times HAPI's second pass on one thread (thread CPU time, without the
// JVM's JIT and GC threads); the test times the gateway's second pass as
// process CPU time (garbage collection included), so the ratio does not
// flatter the gateway.
package hapival
