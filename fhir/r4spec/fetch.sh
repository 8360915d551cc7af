#!/usr/bin/env bash
# fetch.sh prints the path of the HL7 FHIR R4 definitions the r4spec tables
# are generated from: HAPI FHIR's hapi-fhir-validation-resources-r4 jar
# from Maven Central (the specification's own XML files, CC0-1.0). It uses
# the copy test/hapifhir/hapi.sh already fetched when there is one, else
# downloads the jar into the cache; either way the SHA-256 must match.
#
#   bash fhir/r4spec/fetch.sh            # prints the jar's path
#   bash fhir/r4spec/fetch.sh --check    # regenerate into a temporary file
#                                        # and fail when r4_gen.go is stale
#
# Environment: HAPI_CACHE (default ~/.cache/hl7gw-hapi), R4SPEC_CACHE
# (default ~/.cache/hl7gw-r4spec).
set -euo pipefail

VERSION=8.8.0
SHA256=4d46090e11ac73ff1b7ebb565e6124b55e6d26b10538f3ff69bbfd347a4c7015
NAME=hapi-fhir-validation-resources-r4-$VERSION.jar
URL=https://repo1.maven.org/maven2/ca/uhn/hapi/fhir/hapi-fhir-validation-resources-r4/$VERSION/$NAME
HAPI_CACHE=${HAPI_CACHE:-$HOME/.cache/hl7gw-hapi}
R4SPEC_CACHE=${R4SPEC_CACHE:-$HOME/.cache/hl7gw-r4spec}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "fetch.sh: $*" >&2; exit 1; }

verified() { [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$SHA256" ]]; }

jar() {
	local c
	for c in "$HAPI_CACHE/m2/ca/uhn/hapi/fhir/hapi-fhir-validation-resources-r4/$VERSION/$NAME" "$R4SPEC_CACHE/$NAME"; do
		if verified "$c"; then
			echo "$c"
			return
		fi
	done
	mkdir -p "$R4SPEC_CACHE"
	echo "fetch.sh: downloading $URL" >&2
	curl -fsSL --retry 3 -o "$R4SPEC_CACHE/$NAME.tmp" "$URL" || die "download failed: $URL"
	mv "$R4SPEC_CACHE/$NAME.tmp" "$R4SPEC_CACHE/$NAME"
	verified "$R4SPEC_CACHE/$NAME" || die "$NAME: SHA-256 differs from $SHA256"
	echo "$R4SPEC_CACHE/$NAME"
}

case "${1:-}" in
"")
	jar
	;;
--check)
	j=$(jar)
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$HERE/../.." && go run ./fhir/r4spec/internal/gen -jar "$j" -out "$tmp/r4_gen.go")
	diff -q "$HERE/r4_gen.go" "$tmp/r4_gen.go" >/dev/null ||
		die "fhir/r4spec/r4_gen.go is stale: run make r4spec"
	;;
*)
	sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
	;;
esac
