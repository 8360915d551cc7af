#!/usr/bin/env bash
# setup.sh installs schemathesis, pinned, into a Python virtual environment
# under .cache/schemathesis (gitignored) for test/openapi. Idempotent: a venv
# whose stamp records the pinned version is left alone. Non-interactive;
# needs python3 (3.11 or later; with venv, installed by apt-get when
# missing and run as root) and PyPI.
#
#   test/openapi/setup.sh          # install if needed, print the binary's path
set -euo pipefail

SCHEMATHESIS_VERSION=4.32.5

cd "$(dirname "$0")/../.."
venv="$(pwd)/.cache/schemathesis/venv"
stamp="$venv/.schemathesis.version"
bin="$venv/bin/schemathesis"

if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$SCHEMATHESIS_VERSION" ]]; then
	echo "$bin"
	exit 0
fi
# A fresh Debian machine may have python3 without the venv module: as root,
# install it non-interactively.
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		echo "setup.sh: python3 cannot create a venv: install python3 and python3-venv" >&2
		exit 1
	fi
	echo "setup.sh: installing python3-venv with apt-get" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends python3 python3-venv >&2
	python3 -c 'import venv, ensurepip'
fi
echo "setup.sh: installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
	"schemathesis==$SCHEMATHESIS_VERSION" >&2
"$bin" --version >&2
echo "$SCHEMATHESIS_VERSION" >"$stamp"
echo "$bin"
