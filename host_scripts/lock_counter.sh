#!/bin/sh
# lock_counter.sh ENV
# The environment's snapshot counter (see snapshot_id.sh) as it stands: the
# highest snapshot id ever given out, 0 before the first. Read without the
# lock: it only grows.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || die "$EXIT_USAGE" "usage: lock_counter.sh ENV"
n=$(head -c 64 "$HOME/.flotilla/locks/$1.seq" 2>/dev/null | tr -d ' \n')
case $n in '' | *[!0-9]*) n=0 ;; esac
n=${n#"${n%%[!0]*}"}
echo "${n:-0}"
