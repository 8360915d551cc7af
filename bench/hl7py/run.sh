#!/bin/sh
# Python HL7 v2 parsing baseline for `make bench`: installs Debian's
# python3-hl7 (apt) and hl7apy (PyPI, in a venv under the cache dir), both
# idempotently and non-interactively, then runs bench.py over the same
# corpus as BenchmarkStrictValidate (testdata/corpus/hl7/valid).
#
# Output, one line per library (parseable):
#   python-hl7 MBps=12.3 msgs=330 failed=0 bytes=760000 rounds=20
#   hl7apy MBps=1.2 msgs=330 failed=3 bytes=750000 rounds=20
#
# Environment: HL7PY_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/hl7gw-hl7py),
# HL7PY_ROUNDS (default 20), HL7APY_VERSION (default 1.3.5).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${HL7PY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hl7gw-hl7py}
hl7apy_version=${HL7APY_VERSION:-1.3.5}

if ! dpkg -s python3-hl7 >/dev/null 2>&1; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-hl7 python3-venv >/dev/null
fi

# Debian's interpreter, not whatever python3 is first on PATH (pyenv...),
# so that --system-site-packages sees Debian's python3-hl7.
venv="$cache/venv-debian"
if [ ! -x "$venv/bin/python" ]; then
	mkdir -p "$cache"
	/usr/bin/python3 -m venv --system-site-packages "$venv"
fi
if ! "$venv/bin/python" -c "import hl7apy" >/dev/null 2>&1; then
	"$venv/bin/pip" install --quiet --disable-pip-version-check "hl7apy==$hl7apy_version"
fi

exec "$venv/bin/python" "$here/bench.py" --rounds "${HL7PY_ROUNDS:-20}" "$root/testdata/corpus/hl7/valid"
