#!/usr/bin/env bash
# run.sh validates the FHIR corpus (testdata/corpus/fhir) with
# HAPI FHIR's instance validator and prints, per file, the error and warning
# counts and, last, the CPU time of the timed pass (see HapiVal.java). HAPI
# FHIR comes from Maven Central through test/hapifhir/hapi.sh fetch;
# HapiVal.java is compiled next to its cache.
#
#   bash bench/hapival/run.sh > /tmp/hapi.tsv
#
# The Go benchmark in this directory reads that output (HAPIVAL_TSV).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HAPI_CACHE=${HAPI_CACHE:-$HOME/.cache/hl7gw-hapi}
HAPI_VERSION=${HAPI_VERSION:-8.8.0}
LIBS="$HAPI_CACHE/hapi-$HAPI_VERSION/libs"
CLASSES="$HAPI_CACHE/hapival"
NET_SHA1=5a4e26802e0a5a42938f987976b55dae4a6cc636

bash "$ROOT/test/hapifhir/hapi.sh" fetch >&2
# The validator checks Bundle signatures with commons-net, an optional
# dependency the runtime class path leaves out.
NET=commons-net-3.9.0.jar
mkdir -p "$CLASSES"
if ! [[ -f "$CLASSES/$NET" ]]; then
	curl -fsSL --retry 3 -o "$CLASSES/$NET.tmp" "https://repo1.maven.org/maven2/commons-net/commons-net/3.9.0/$NET"
	echo "$NET_SHA1  $CLASSES/$NET.tmp" | sha1sum -c --quiet - >&2
	mv "$CLASSES/$NET.tmp" "$CLASSES/$NET"
fi
bash "$ROOT/scripts/javac-once.sh" compile "$HERE/HapiVal.java" "$CLASSES" "$LIBS/*"
cd "$ROOT/testdata/corpus/fhir"
exec java -Xss4m -cp "$CLASSES:$CLASSES/$NET:$LIBS/*" HapiVal valid/*.json invalid/*.json
