#!/usr/bin/env bash
# javac-once.sh: a test's Java helper (one .java file) compiled once per
# change of its source, beside a class path fetched by maven-fetch.sh.
#
#   javac-once.sh compile SRC CLASSES CLASSPATH   compile SRC into CLASSES
#       against CLASSPATH unless CLASSES already holds it compiled from SRC
#       as it is now; a copy of SRC in CLASSES records what was compiled
#   javac-once.sh current SRC CLASSES             exit 1 unless CLASSES holds
#       SRC's class compiled from SRC as it is now
#
# Nothing is written on standard output.
set -euo pipefail

die() { echo "javac-once.sh: $*" >&2; exit 1; }

[[ $# -ge 3 ]] || die "usage: javac-once.sh compile SRC CLASSES CLASSPATH | current SRC CLASSES"
op=$1 src=$2 classes=$3
name=$(basename "$src" .java)

current() { [[ -f "$classes/$name.class" ]] && cmp -s "$src" "$classes/$name.java"; }

case "$op" in
current) current ;;
compile)
	[[ $# -eq 4 ]] || die "usage: javac-once.sh compile SRC CLASSES CLASSPATH"
	current && exit 0
	command -v javac >/dev/null || die "javac not found: $name.java needs a JDK 17+"
	mkdir -p "$classes"
	javac -nowarn -cp "$4" -d "$classes" "$src" >&2 || die "javac $name.java failed (need a JDK 17+)"
	cp "$src" "$classes/$name.java"
	;;
*) die "unknown operation $op" ;;
esac
