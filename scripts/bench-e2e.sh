#!/usr/bin/env bash
# End-to-end MLLP -> Kafka figures beside a plain franz-go producer, in one
# run (see bench/e2e/main.go), then the scale-out figures: 1, 2 and 3
# gateway instances on one broker (bench/e2e/scaleout.go). Needs bin/gateway
# (make build). Arguments go to the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
go run ./bench/e2e -gateway bin/gateway "$@"
go run ./bench/e2e -gateway bin/gateway -instances 1,2,3 -duration 4s
