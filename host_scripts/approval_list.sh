#!/bin/sh
# approval_list.sh ENV TICKET
# The approvals kept for a ticket (TICKET "-": for every ticket): one
# "TICKET/NAME BASE64" line each (at most 500, each at most 64 KiB), so no
# content can forge another's boundary.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
set -e
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: approval_list.sh ENV TICKET"
for part in "$1" "$2"; do
  case $part in
    -) ;;
    '' | .* | *[!A-Za-z0-9._-]*) die "$EXIT_USAGE" "not a safe name: $part" ;;
  esac
done
base="$HOME/.flotilla/approvals/$1"
[ -d "$base" ] || exit 0
cd "$base"
count=0
for ticket in *; do
  [ -d "$ticket" ] || continue
  [ "$2" = - ] || [ "$2" = "$ticket" ] || continue
  for name in "$ticket"/*; do
    [ -f "$name" ] || continue
    count=$((count + 1))
    [ "$count" -le 500 ] || exit 0
    head -c 65536 "$name" | section "$name"
  done
done
