#!/usr/bin/env bash
# soak.sh: the soak benchmark (bench/soak/main.go) against a 3-broker Apache
# Kafka started here with test/kafka/kafka.sh and stopped at the end (also on
# failure or Ctrl-C) unless --keep. Not part of `make test` or `make bench`.
#
#   scripts/soak.sh [--keep] [bench/soak flags, e.g. -conns 32 -partitions 12]
#
# Environment: SOAK_MESSAGES (default 1000000), SOAK_CONNS (16), SOAK_GATEWAY
# (bin/gateway: `make build`), SOAK_JSON (bin/soak.json, the JSON summary),
# SOAK_BASE_PORT (19950: brokers 19950-19952, controllers 20050-20052, apart
# from the test suites' ranges 19400, 19700 and 19750 and their controllers),
# SOAK_KEEP=1 (as --keep). kafka.sh's own variables (KAFKA_HEAP, ...) apply.
set -euo pipefail
cd "$(dirname "$0")/.."

MESSAGES=${SOAK_MESSAGES:-1000000}
CONNS=${SOAK_CONNS:-16}
GATEWAY=${SOAK_GATEWAY:-bin/gateway}
JSON=${SOAK_JSON:-bin/soak.json}
BASE_PORT=${SOAK_BASE_PORT:-19950}
KEEP=${SOAK_KEEP:-0}
args=()
for a in "$@"; do
	case "$a" in
	--keep | -keep) KEEP=1 ;;
	*) args+=("$a") ;;
	esac
done

[[ -x "$GATEWAY" ]] || { echo "soak.sh: $GATEWAY not found: run make build or set SOAK_GATEWAY" >&2; exit 1; }
mkdir -p "$(dirname "$JSON")"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/soak-bin.XXXXXX")

cleanup() {
	rm -rf "$tmp"
	if [[ "$KEEP" == 1 ]]; then
		echo "soak.sh: brokers left running: test/kafka/kafka.sh down --base-port $BASE_PORT" >&2
	else
		bash test/kafka/kafka.sh down --base-port "$BASE_PORT" >&2 || true
	fi
}
trap cleanup EXIT

# Build first so that compiling does not compete with the measurement.
go build -o "$tmp/soak" ./bench/soak
bash test/kafka/kafka.sh up --brokers 3 --base-port "$BASE_PORT" >&2
brokers="127.0.0.1:$BASE_PORT,127.0.0.1:$((BASE_PORT + 1)),127.0.0.1:$((BASE_PORT + 2))"

echo "soak.sh: $tmp/soak -gateway $GATEWAY -brokers $brokers -messages $MESSAGES -conns $CONNS -json $JSON ${args[*]}" >&2
"$tmp/soak" -gateway "$GATEWAY" -brokers "$brokers" -messages "$MESSAGES" -conns "$CONNS" -json "$JSON" "${args[@]}"
