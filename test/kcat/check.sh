#!/usr/bin/env bash
# check.sh: read a Kafka-protocol broker with kcat, an ordinary librdkafka
# client, to prove the gateway's embedded broker is readable by others.
#
#   check.sh install               install kcat if missing (idempotent)
#   check.sh ADDR                  list cluster metadata (kcat -L)
#   check.sh ADDR TOPIC N          list metadata, then consume N records of
#                                  TOPIC from the beginning and print each as
#                                    KEY=<key>
#                                    HEADERS=<k=v,k=v>
#                                    LEN=<value length in bytes>
#                                    VALUE=<value bytes, exactly LEN>
#                                    --END--
#
# Installing uses apt-get (non-interactive; "apt-get update" only when the
# package is unknown to the local index) and needs root; without root and
# without kcat it fails with exit code 3 so callers can tell "cannot
# install" from "check failed". Environment: KCAT (kcat binary to use),
# KCAT_TIMEOUT (seconds, default 30).
set -euo pipefail

KCAT_BIN="${KCAT:-}"
TIMEOUT="${KCAT_TIMEOUT:-30}"

find_kcat() {
	if [[ -n "$KCAT_BIN" ]] && command -v "$KCAT_BIN" >/dev/null 2>&1; then return 0; fi
	for b in kcat kafkacat; do
		if command -v "$b" >/dev/null 2>&1; then KCAT_BIN="$b"; return 0; fi
	done
	return 1
}

install_kcat() {
	if find_kcat; then return 0; fi
	if [[ "$(id -u)" != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
		echo "check.sh: kcat is not installed and cannot be installed (need root and apt-get)" >&2
		exit 3
	fi
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-cache show kcat >/dev/null 2>&1; then
		apt-get update -qq >&2 || { echo "check.sh: apt-get update failed" >&2; exit 3; }
	fi
	apt-get install -y -qq --no-install-recommends kcat >&2 || { echo "check.sh: apt-get install kcat failed" >&2; exit 3; }
	find_kcat || { echo "check.sh: kcat still not found after install" >&2; exit 3; }
}

if [[ $# -lt 1 ]]; then
	sed -n '2,20p' "$0" >&2
	exit 2
fi

install_kcat
if [[ "$1" == install ]]; then
	echo "kcat: $(command -v "$KCAT_BIN")"
	exit 0
fi

addr="$1"
timeout "$TIMEOUT" "$KCAT_BIN" -b "$addr" -L -m 10
if [[ $# -ge 3 ]]; then
	topic="$2" n="$3"
	timeout "$TIMEOUT" "$KCAT_BIN" -b "$addr" -C -t "$topic" -o beginning -c "$n" -e -q \
		-f 'KEY=%k\nHEADERS=%h\nLEN=%S\nVALUE=%s\n--END--\n'
fi
