#!/usr/bin/env bash
# proto.sh lints the API protos and regenerates the committed Go, gRPC,
# grpc-gateway and OpenAPI code with buf and the LOCAL plugins in ./bin
# (scripts/tools.sh installs them).
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

case "${1:-}" in
"")
	buf generate
	;;
--check)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	cp buf.yaml buf.gen.yaml "$tmp/"
	cp -R third_party "$tmp/"
	mkdir -p "$tmp/proto"
	(cd proto && find . -name '*.proto' -exec cp --parents {} "$tmp/proto/" \;)
	(cd "$tmp" && buf generate)
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
