#!/usr/bin/env bash
# haproxy.sh install: HAProxy from Debian for test/scaleout, installed with
# apt-get when missing (idempotent; needs root, as kcat's install does).
set -euo pipefail
case "${1:-}" in
install)
	if command -v haproxy >/dev/null; then
		exit 0
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy
	;;
*)
	echo "usage: $0 install" >&2
	exit 2
	;;
esac
