// Package fhirload measures the FHIR REST door: resources per second posted
// over real HTTP by 8 and 64 concurrent clients to the gateway's REST
// handler (strict validation, routing, acks=all publish to a kfake
// Kafka-protocol broker), beside the rate at which google/fhir/go's R4
// jsonformat unmarshaller alone reads the same resources on the same
// cores. `make bench` prints both; the target is POST/unmarshal >= 0.6.
//
//	go test -run '^$' -bench . -benchmem ./bench/fhirload/
package fhirload
