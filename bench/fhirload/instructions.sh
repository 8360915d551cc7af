#!/usr/bin/env bash
# instructions.sh counts the CPU instructions one FHIR POST costs
# (BenchmarkFHIRPost, 64 clients: load generator, HTTP, validation,
# routing, the producer and kfake, garbage collection included) at each
# git revision given, with valgrind's callgrind. Instruction counts do not
# move with the machine's load, which makes wall-clock and even CPU-time
# comparisons between builds unreliable on a shared machine.
#
#   bash bench/fhirload/instructions.sh 4babcb8 HEAD
#
# Each revision is built in a temporary worktree and run twice, with 1 and
# with 1001 POSTs; the difference divided by 1001 is the cost of one POST,
# set-up and warm-up excluded (they vary by about 100M instructions from
# run to run, so the figure is good to about 3%). About eight minutes per
# revision.
set -euo pipefail

[[ $# -gt 0 ]] || { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is needed" >&2; exit 1; }
ROOT=$(git -C "$(dirname "${BASH_SOURCE[0]}")" rev-parse --show-toplevel)
TMP=$(mktemp -d)
trap 'for w in "$TMP"/wt-*; do [[ -d $w ]] && git -C "$ROOT" worktree remove --force "$w"; done; rm -rf "$TMP"' EXIT

count() { # binary dir posts -> instructions collected
	(cd "$2" && GODEBUG=asyncpreemptoff=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$1" -test.run '^$' -test.bench 'FHIRPost/clients=64' -test.benchtime "${3}x" 2>&1) |
		sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

for rev in "$@"; do
	sha=$(git -C "$ROOT" rev-parse --short "$rev")
	wt="$TMP/wt-$sha"
	git -C "$ROOT" worktree add --detach "$wt" "$sha" >/dev/null 2>&1
	(cd "$wt" && go test -c -o "$TMP/fhirload-$sha.test" ./bench/fhirload)
	one=$(count "$TMP/fhirload-$sha.test" "$wt/bench/fhirload" 1)
	many=$(count "$TMP/fhirload-$sha.test" "$wt/bench/fhirload" 1001)
	echo "$rev ($sha): $(((many - one) / 1001)) instructions per POST"
done
