#!/usr/bin/env bash
# setup.sh installs schemathesis, pinned, into a Python virtual environment
# under .cache/schemathesis (gitignored) for test/openapi. Idempotent: a venv
# whose stamp records the pinned version is left alone. Non-interactive;
# needs python3 (with venv) and PyPI.
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
if ! command -v python3 >/dev/null 2>&1; then
	echo "setup.sh: python3 not found; schemathesis needs Python 3.9 or later" >&2
	exit 1
fi
echo "setup.sh: installing schemathesis $SCHEMATHESIS_VERSION into $venv" >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
	"schemathesis==$SCHEMATHESIS_VERSION" >&2
"$bin" --version >&2
echo "$SCHEMATHESIS_VERSION" >"$stamp"
echo "$bin"
