#!/usr/bin/env bash
# tools.sh installs the pinned code generators and test clients into ./bin
# with `go install` (GOBIN=$(pwd)/bin). It is idempotent: a tool whose
# pinned version is already in ./bin is not rebuilt. Non-interactive; needs
# only the Go module proxy.
#
#   scripts/tools.sh            # everything: buf, protoc plugins, grpcurl
#   scripts/tools.sh proto      # buf and the protoc plugins
#   scripts/tools.sh grpcurl    # grpcurl only
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
bin="$root/bin"
mkdir -p "$bin"

# Pinned versions. protoc-gen-go and protoc-gen-grpc-gateway follow go.mod so
# that generated code matches the runtime libraries the gateway links.
BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12          # google.golang.org/protobuf in go.mod
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2
GRPC_GATEWAY_VERSION=v2.33.0            # github.com/grpc-ecosystem/grpc-gateway/v2 in go.mod
GRPCURL_VERSION=v1.9.4

# install NAME PACKAGE VERSION: go install PACKAGE@VERSION into ./bin unless
# ./bin/NAME.version already records VERSION and the binary exists.
install() {
	local name=$1 pkg=$2 version=$3
	local stamp="$bin/.$name.version"
	if [[ -x "$bin/$name" && -f "$stamp" && "$(cat "$stamp")" == "$version" ]]; then
		return 0
	fi
	echo "tools.sh: installing $name $version" >&2
	GOBIN="$bin" go install "$pkg@$version"
	echo "$version" >"$stamp"
}

proto_tools() {
	install buf github.com/bufbuild/buf/cmd/buf "$BUF_VERSION"
	install protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go "$PROTOC_GEN_GO_VERSION"
	install protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc "$PROTOC_GEN_GO_GRPC_VERSION"
	install protoc-gen-grpc-gateway github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-grpc-gateway "$GRPC_GATEWAY_VERSION"
	install protoc-gen-openapiv2 github.com/grpc-ecosystem/grpc-gateway/v2/protoc-gen-openapiv2 "$GRPC_GATEWAY_VERSION"
}

case "${1:-all}" in
all)
	proto_tools
	install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION"
	;;
proto) proto_tools ;;
grpcurl) install grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl "$GRPCURL_VERSION" ;;
*)
	echo "usage: scripts/tools.sh [all|proto|grpcurl]" >&2
	exit 2
	;;
esac
