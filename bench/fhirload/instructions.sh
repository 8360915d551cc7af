#!/usr/bin/env bash
# instructions.sh counts the CPU instructions one FHIR POST costs
# (BenchmarkFHIRPost, 64 clients: load generator, HTTP, validation,
# routing, the producer and kfake, garbage collection included) at each
# git revision given, with valgrind's callgrind. Instruction counts move far
# less with the machine's load than wall-clock rates and CPU time, which
# varied 20-30% between runs of one build on a shared machine.
#
#   bash bench/fhirload/instructions.sh 4babcb8 HEAD
#
# Each revision is built in a temporary worktree and run with 201 and with
# 1201 POSTs; the difference divided by 1000 is the cost of one POST, with
# set-up (kfake, the producer, the R4 tables) and warm-up left out: set-up
# alone varied from 0.5G to 1.3G instructions between runs. Background work
# that runs on timers (the Kafka client, kfake, the runtime) still counts
# per second, and under valgrind a POST takes about 50 times longer, so run
# it a few times and read the spread. About ten minutes per revision.
set -euo pipefail

[[ $# -gt 0 ]] || { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
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
	few=$(count "$TMP/fhirload-$sha.test" "$wt/bench/fhirload" 201)
	many=$(count "$TMP/fhirload-$sha.test" "$wt/bench/fhirload" 1201)
	echo "$rev ($sha): $(((many - few) / 1000)) instructions per POST"
done
