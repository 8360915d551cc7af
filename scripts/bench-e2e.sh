#!/usr/bin/env bash
# End-to-end MLLP -> Kafka figures beside a plain franz-go producer, in one
# run (see bench/e2e/main.go). Needs bin/gateway (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/e2e -gateway bin/gateway "$@"
