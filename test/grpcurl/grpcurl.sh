#!/usr/bin/env bash
# grpcurl.sh calls a running gateway's gRPC door with grpcurl, a gRPC client
# written by others, using server reflection only (no .proto files):
#
#   test/grpcurl/grpcurl.sh HOST:PORT RESOURCE.json
#
# It installs the pinned grpcurl into ./bin (scripts/tools.sh grpcurl,
# idempotent), then prints, each after a "== NAME" line:
#   SubmitFHIR   gateway.v1.GatewayService/SubmitFHIR creating RESOURCE.json
#                (resource type read from the file) as a JSON answer
#   Health       grpc.health.v1.Health/Check for the whole server
#   List         the services the server lists through reflection
# Exit status is grpcurl's first failure, or 2 when the install fails.
set -euo pipefail

if [[ $# -ne 2 ]]; then
	echo "usage: $0 HOST:PORT RESOURCE.json" >&2
	exit 64
fi
addr=$1
resource=$2
root=$(cd "$(dirname "$0")/../.." && pwd)

bash "$root/scripts/tools.sh" grpcurl >&2 || exit 2
grpcurl="$root/bin/grpcurl"

type=$(sed -n 's/^[[:space:]]*"resourceType"[[:space:]]*:[[:space:]]*"\([A-Za-z]*\)".*/\1/p' "$resource" | head -1)
if [[ -z $type ]]; then
	echo "grpcurl.sh: no resourceType in $resource" >&2
	exit 64
fi

echo "== SubmitFHIR"
printf '{"resourceType":"%s","action":"FHIR_ACTION_CREATE","resource":"%s"}' "$type" "$(base64 -w0 "$resource")" |
	"$grpcurl" -plaintext -d @ "$addr" gateway.v1.GatewayService/SubmitFHIR
echo "== Health"
"$grpcurl" -plaintext -d '{"service":""}' "$addr" grpc.health.v1.Health/Check
echo "== List"
"$grpcurl" -plaintext "$addr" list
