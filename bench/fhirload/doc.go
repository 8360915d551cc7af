// Package fhirload measures the FHIR REST door: resources per second posted
// over real HTTP by 8 and 64 concurrent clients to the gateway's REST
// handler (strict validation, routing, acks=all publish to a kfake
// Kafka-protocol broker), beside the rate at which google/fhir/go's R4
// jsonformat unmarshaller alone reads the same resources on the same
// cores. `make bench` prints both; the target is POST/unmarshal >= 0.6.
//
//	go test -run '^$' -bench . -benchmem ./bench/fhirload/
//
// Reading the figures: google/fhir's unmarshal is most of a POST's CPU;
// the rest is HTTP, Kafka (client and kfake, in this process) and garbage
// collection. With 64 clients the CPUs stay busy. With 8 they idle part of
// the time: an idempotent producer has one produce request in flight per
// broker, and on a saturated machine each request's wait for that round
// trip is latency no validation work fills (with the publish step made a
// no-op, 8 clients reach the 64-client rate).
package fhirload
