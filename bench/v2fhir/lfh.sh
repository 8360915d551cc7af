#!/usr/bin/env bash
# lfh.sh: LinuxForHealth's hl7v2-fhir-converter (Java, Maven Central) for the
# side-by-side run of bench/v2fhir.
#
#   lfh.sh fetch       download the converter and its runtime dependencies
#                      from Maven Central into the cache, compile LfhConvert.java
#   lfh.sh classpath   print the class path (libs + compiled LfhConvert); exit 1
#                      when fetch has not run
#
# fetch is idempotent: a second run finds the marker file and downloads
# nothing; LfhConvert.java is recompiled only when it changed.
#
# Environment: LFH_VERSION (default v1.1.0, the newest on Maven Central: its
# metadata lists 1.0.19 as "release", but v1.1.0 of 2023-10 is the later
# build), LFH_CACHE (default ~/.cache/hl7gw-lfh), MAVEN (default mvn).
set -euo pipefail

LFH_VERSION=${LFH_VERSION:-v1.1.0}
SLF4J_VERSION=${SLF4J_VERSION:-2.0.17}
LFH_CACHE=${LFH_CACHE:-$HOME/.cache/hl7gw-lfh}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DEST="$LFH_CACHE/lfh-$LFH_VERSION"
LIBS="$DEST/libs"
CLASSES="$DEST/driver"

die() { echo "lfh.sh: $*" >&2; exit 1; }

usage() {
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 2
}

fetch() {
	command -v javac >/dev/null || die "javac not found: the side-by-side run needs a JDK 17+"
	if ! [[ -f "$DEST/.complete" ]]; then
		echo "lfh.sh: fetching hl7v2-fhir-converter $LFH_VERSION from Maven Central into $DEST" >&2
	fi
	runtime_pom | bash "$ROOT/scripts/maven-fetch.sh" "$DEST" "$LFH_CACHE/m2"
	compile
}

# runtime_pom: the converter and a silent slf4j binding (it logs through slf4j).
runtime_pom() {
	cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hl7gw.bench</groupId>
  <artifactId>lfh-v2fhir</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>io.github.linuxforhealth</groupId><artifactId>hl7v2-fhir-converter</artifactId><version>$LFH_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
}

# compile compiles LfhConvert.java once per source change.
compile() {
	bash "$ROOT/scripts/javac-once.sh" compile "$HERE/LfhConvert.java" "$CLASSES" "$LIBS/*"
}

classpath() {
	[[ -f "$DEST/.complete" ]] || die "hl7v2-fhir-converter $LFH_VERSION not fetched: run bench/v2fhir/lfh.sh fetch (make test-deps)"
	bash "$ROOT/scripts/javac-once.sh" current "$HERE/LfhConvert.java" "$CLASSES" || die "LfhConvert.java not compiled or changed since: run bench/v2fhir/lfh.sh fetch"
	echo "$CLASSES:$LIBS/*"
}

case "${1:-}" in
fetch) fetch ;;
classpath) classpath ;;
*) usage ;;
esac
