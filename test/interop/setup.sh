#!/usr/bin/env bash
# setup.sh: the real clients the interop tests drive, installed idempotently
# and non-interactively (make test-deps runs `setup.sh install`).
#
#   setup.sh install   create the Python venv (python-hl7, the CloudEvents
#                      SDK, confluent-kafka from PyPI) and fetch HAPI HL7v2
#                      (Maven Central), then compile HapiSend.java; a second
#                      run finds everything in place and downloads nothing
#   setup.sh paths     print, as KEY=VALUE lines, what the tests run:
#                      PYTHON=<venv interpreter>, HAPI_CP=<java class path>;
#                      exit 3 when something is not installed
#
# Environment: INTEROP_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/hl7gw-interop),
# PYTHON (interpreter that creates the venv, default python3), MAVEN
# (default mvn), HAPI_VERSION (default 2.5.1).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${INTEROP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hl7gw-interop}
PYTHON=${PYTHON:-python3}
HAPI_VERSION=${HAPI_VERSION:-2.5.1}
# Pinned so that a run tests the same clients every time.
PY_REQUIREMENTS="hl7==0.4.5 cloudevents==2.2.0 confluent-kafka==2.16.1"

VENV="$CACHE/venv"
HAPI_DIR="$CACHE/hapi-$HAPI_VERSION"

die() { echo "setup.sh: $1" >&2; exit "${2:-1}"; }
log() { echo "setup.sh: $*" >&2; }

# ensure_venv_module installs Debian's python3 and python3-venv (as root,
# non-interactively) when PYTHON cannot create a venv with pip.
ensure_venv_module() {
	if command -v "$PYTHON" >/dev/null && "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
		return 0
	fi
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null; then
		die "$PYTHON cannot create a venv: install python3 and python3-venv"
	fi
	log "installing python3-venv with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends python3 python3-venv >&2 || die "apt-get install python3-venv failed"
	PYTHON=python3
	command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' || die "python3 still cannot create a venv"
}

# install_python creates the venv once and installs the pinned packages
# when the recorded requirement list differs from PY_REQUIREMENTS.
install_python() {
	if [[ -x "$VENV/bin/python" ]] && [[ -f "$VENV/.requirements" ]] &&
		[[ "$(<"$VENV/.requirements")" == "$PY_REQUIREMENTS" ]]; then
		return 0
	fi
	ensure_venv_module
	log "creating $VENV with $PY_REQUIREMENTS"
	mkdir -p "$CACHE"
	if [[ ! -x "$VENV/bin/python" ]]; then
		"$PYTHON" -m venv "$VENV" || die "python -m venv failed (apt-get install python3-venv)"
	fi
	# shellcheck disable=SC2086 # the list is split on purpose
	"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input $PY_REQUIREMENTS ||
		die "pip could not install $PY_REQUIREMENTS (network? proxy?)"
	echo "$PY_REQUIREMENTS" >"$VENV/.requirements"
}

# hapi_pom prints the pom whose runtime dependencies are HAPI's class path:
# hapi-base (MLLP initiator, parser) and the v2.5.1 structures.
hapi_pom() {
	cat <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hl7gw.test</groupId>
  <artifactId>hapi-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>ca.uhn.hapi</groupId><artifactId>hapi-base</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>ca.uhn.hapi</groupId><artifactId>hapi-structures-v251</artifactId><version>$HAPI_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
EOF
}

# install_hapi fetches HAPI with Maven once per pom (scripts/maven-fetch.sh),
# then compiles HapiSend.java once per source change.
install_hapi() {
	command -v javac >/dev/null || die "javac not found: HAPI needs a JDK 17+"
	if ! [[ -f "$HAPI_DIR/.complete" ]]; then
		log "fetching HAPI HL7v2 $HAPI_VERSION from Maven Central into $HAPI_DIR"
	fi
	hapi_pom | bash "$HERE/../../scripts/maven-fetch.sh" "$HAPI_DIR" "$CACHE/m2"
	bash "$HERE/../../scripts/javac-once.sh" compile "$HERE/HapiSend.java" "$HAPI_DIR/classes" "$HAPI_DIR/libs/*"
}

# paths prints what the tests need, or exits 3 when it is not installed.
paths() {
	[[ -x "$VENV/bin/python" && -f "$VENV/.requirements" && "$(<"$VENV/.requirements")" == "$PY_REQUIREMENTS" ]] ||
		die "the Python clients are not installed: run $0 install" 3
	[[ -f "$HAPI_DIR/.complete" ]] && bash "$HERE/../../scripts/javac-once.sh" current "$HERE/HapiSend.java" "$HAPI_DIR/classes" ||
		die "HAPI HL7v2 is not installed or HapiSend.java changed: run $0 install" 3
	echo "PYTHON=$VENV/bin/python"
	echo "HAPI_CP=$HAPI_DIR/classes:$HAPI_DIR/libs/*"
}

case "${1:-}" in
install)
	install_python
	install_hapi
	paths
	;;
paths) paths ;;
*)
	sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
