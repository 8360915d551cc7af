#!/usr/bin/env bash
# Runs every fuzz target in the module for the given time each (default 60s).
# The seed corpora under testdata/fuzz/ run as ordinary tests in `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-60s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | awk '{print $2}' | sort -u); do
    echo "== $pkg $f ($fuzztime)"
    go test -run='^$' -fuzz="^${f}\$" -fuzztime="$fuzztime" "$pkg"
  done
done
