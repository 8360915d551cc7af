#!/usr/bin/env bash
# hapi.sh: HAPI FHIR's generic client and validator for the interop test.
#
#   hapi.sh fetch       download HAPI FHIR and its runtime dependencies from
#                       Maven Central into the cache, compile Interop.java
#   hapi.sh classpath   print the class path (libs + compiled Interop); exit 1
#                       when fetch has not run
#
# fetch is idempotent (scripts/maven-fetch.sh): a second run finds the
# marker file and downloads nothing; Interop.java is recompiled only when it
# changed.
#
# Environment: HAPI_VERSION (default 8.8.0, the client version issue 12 was
# found with), HAPI_CACHE (default ~/.cache/hl7gw-hapi), MAVEN (default mvn).
set -euo pipefail

HAPI_VERSION=${HAPI_VERSION:-8.8.0}
SLF4J_VERSION=${SLF4J_VERSION:-2.0.17}
HAPI_CACHE=${HAPI_CACHE:-$HOME/.cache/hl7gw-hapi}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST="$HAPI_CACHE/hapi-$HAPI_VERSION"
LIBS="$DEST/libs"
CLASSES="$DEST/interop"

die() { echo "hapi.sh: $*" >&2; exit 1; }
log() { echo "hapi.sh: $*" >&2; }

usage() {
	sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

fetch() {
	command -v javac >/dev/null || die "javac not found: the interop test needs a JDK 17+"
	if ! [[ -f "$DEST/.complete" ]]; then
		log "fetching HAPI FHIR $HAPI_VERSION from Maven Central into $DEST"
	fi
	runtime_pom | bash "$ROOT/scripts/maven-fetch.sh" "$DEST" "$HAPI_CACHE/m2"
	compile
}

# runtime_pom prints the pom whose runtime dependencies are the class path:
# the generic client, R4 structures, the instance validator with its R4
# resources and cache, and a silent slf4j binding.
runtime_pom() {
	cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hl7gw.test</groupId>
  <artifactId>hapi-interop</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>ca.uhn.hapi.fhir</groupId><artifactId>hapi-fhir-client</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>ca.uhn.hapi.fhir</groupId><artifactId>hapi-fhir-structures-r4</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>ca.uhn.hapi.fhir</groupId><artifactId>hapi-fhir-validation</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>ca.uhn.hapi.fhir</groupId><artifactId>hapi-fhir-validation-resources-r4</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>ca.uhn.hapi.fhir</groupId><artifactId>hapi-fhir-caching-caffeine</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
}

# compile compiles Interop.java once per source change.
compile() {
	bash "$ROOT/scripts/javac-once.sh" compile "$HERE/Interop.java" "$CLASSES" "$LIBS/*"
}

classpath() {
	[[ -f "$DEST/.complete" ]] || die "HAPI FHIR $HAPI_VERSION not fetched: run test/hapifhir/hapi.sh fetch (make test-deps)"
	bash "$ROOT/scripts/javac-once.sh" current "$HERE/Interop.java" "$CLASSES" || die "Interop.java not compiled or changed since: run test/hapifhir/hapi.sh fetch"
	echo "$CLASSES:$LIBS/*"
}

case "${1:-}" in
fetch) fetch ;;
classpath) classpath ;;
*) usage ;;
esac
