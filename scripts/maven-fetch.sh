#!/usr/bin/env bash
# maven-fetch.sh: the runtime class path of a few Maven Central artifacts,
# fetched once into a cache directory.
#
#   maven-fetch.sh DEST M2 < pom.xml
#
# Reads a pom (packaging pom, the wanted artifacts as its dependencies) on
# standard input and copies their runtime dependencies, transitive ones
# included, into DEST/libs with Maven's dependency plugin; M2 is the local
# repository Maven downloads into. Idempotent: when DEST/.complete exists
# and DEST/pom.xml equals the pom given, nothing is fetched. A run that
# fails leaves no .complete, so the next one starts again. Nothing is
# written on standard output (Maven's output, even the colour resets its
# -q leaves, goes to standard error), so callers may print paths there.
#
# Environment: MAVEN (default mvn).
set -euo pipefail

MAVEN=${MAVEN:-mvn}
die() { echo "maven-fetch.sh: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: maven-fetch.sh DEST M2 < pom.xml"
DEST=$1
M2=$2
pom=$(cat)
[[ -n "$pom" ]] || die "no pom on standard input"

if [[ -f "$DEST/.complete" && -f "$DEST/pom.xml" ]] && [[ "$(<"$DEST/pom.xml")" == "$pom" ]]; then
	exit 0
fi
command -v "$MAVEN" >/dev/null || die "maven ($MAVEN) not found: apt-get install maven"
mkdir -p "$DEST"
rm -f "$DEST/.complete"
echo "$pom" >"$DEST/pom.xml"
rm -rf "$DEST/libs.tmp"
"$MAVEN" -q -B -Dstyle.color=never -f "$DEST/pom.xml" -Dmaven.repo.local="$M2" \
	org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
	-DincludeScope=runtime -DoutputDirectory="$DEST/libs.tmp" </dev/null >&2 ||
	die "maven could not fetch the dependencies of $DEST/pom.xml (network? proxy?)"
rm -rf "$DEST/libs"
mv "$DEST/libs.tmp" "$DEST/libs"
touch "$DEST/.complete"
