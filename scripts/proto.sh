#!/usr/bin/env bash
# proto.sh lints the API protos and regenerates the committed Go, gRPC,
# grpc-gateway and OpenAPI code with buf and the LOCAL plugins in ./bin
# (scripts/tools.sh installs them). protoc-gen-openapiv2 writes Swagger 2.0
# (gateway.swagger.json); openapigen converts it to the served OpenAPI 3
# document, ingest/api/openapi/openapi.json, with the corrections in
# ingest/api/openapi/overlay.yaml.
#
#   scripts/proto.sh           # buf lint, then buf generate in place
#   scripts/proto.sh --check   # buf lint, then generate into a temporary copy
#                              # and fail with a diff when the committed code
#                              # is stale
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/bin:$PATH"

for tool in buf protoc-gen-go protoc-gen-go-grpc protoc-gen-grpc-gateway protoc-gen-openapiv2; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "proto.sh: $tool not found; run scripts/tools.sh" >&2
		exit 1
	fi
done

buf lint

# generated lists the files buf generate owns: everything under proto/ that
# is not a .proto source.
generated() {
	(cd "$1" && find proto -type f ! -name '*.proto' | LC_ALL=C sort)
}

# openapi DIR: build DIR's served OpenAPI document from its generated
# Swagger and the overlay.
openapi_doc=ingest/api/openapi/openapi.json
openapi() {
	go run ./ingest/api/openapi/openapigen \
		-swagger "$1/proto/gateway/v1/gateway.swagger.json" \
		-overlay "$root/ingest/api/openapi/overlay.yaml" \
		-out "$1/$openapi_doc"
}

case "${1:-}" in
"")
	buf generate
	openapi "$root"
	;;
--check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp buf.yaml buf.gen.yaml "$tmp/"
	cp -R third_party "$tmp/"
	mkdir -p "$tmp/proto"
	(cd proto && find . -name '*.proto' -exec cp --parents {} "$tmp/proto/" \;)
	(cd "$tmp" && buf generate)
	mkdir -p "$tmp/$(dirname "$openapi_doc")"
	openapi "$tmp"
	status=0
	if ! diff -u <(generated "$root") <(generated "$tmp"); then
		echo "proto.sh: the set of generated files differs" >&2
		status=1
	fi
	while IFS= read -r f; do
		if [[ -f "$root/$f" ]] && ! diff -u "$root/$f" "$tmp/$f"; then
			status=1
		fi
	done < <(generated "$tmp")
	if ! diff -u "$root/$openapi_doc" "$tmp/$openapi_doc"; then
		status=1
	fi
	if [[ $status -ne 0 ]]; then
		echo "proto.sh: generated code is stale; run 'make proto' (scripts/proto.sh) and commit" >&2
		exit 1
	fi
	echo "proto.sh: generated code is up to date"
	;;
*)
	echo "usage: scripts/proto.sh [--check]" >&2
	exit 2
	;;
esac
