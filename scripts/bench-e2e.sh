#!/usr/bin/env bash
# End-to-end MLLP -> Kafka figures beside a plain franz-go producer, in one
# run (see bench/e2e/main.go), then the same with HL7 v2 to FHIR conversion
# off and on side by side (-convert), then the scale-out figures: 1, 2 and 3
# gateway instances on one broker (bench/e2e/scaleout.go). Needs bin/gateway
# (make build). Arguments go to the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/e2e -gateway bin/gateway "$@"
# HL7 v2 to FHIR in the stream (issue 16): the same gateway without and with
# conversion side by side, on the message types converted.
go run ./bench/e2e -gateway bin/gateway -convert 'ADT^A01,ADT^A04,ADT^A08,ORU^R01' -duration 4s
go run ./bench/e2e -gateway bin/gateway -instances 1,2,3 -duration 4s
