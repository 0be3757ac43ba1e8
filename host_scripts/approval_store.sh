#!/bin/sh
# approval_store.sh ENV TICKET NAME
# Keeps one signed approval (stdin) on the environment's lock host, as
# ~/.flotilla/approvals/ENV/TICKET/NAME, written whole or not at all. The
# controller checks the signature; this host only keeps the bytes.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
set -e
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: approval_store.sh ENV TICKET NAME"
for part in "$1" "$2" "$3"; do
  case $part in
    '' | .* | *[!A-Za-z0-9._-]*) die "$EXIT_USAGE" "not a safe name: $part" ;;
  esac
done
dir="$HOME/.flotilla/approvals/$1/$2"
mkdir -p "$dir"
tmp="$dir/.$3.$$"
trap 'rm -f "$tmp"' EXIT
head -c 65536 >"$tmp"
mv -f "$tmp" "$dir/$3"
