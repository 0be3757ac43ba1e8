#!/bin/sh
# snapshot_id.sh ENV AT_LEAST_ABOVE
# The environment's next snapshot id from the counter beside its lock
# (call it holding the lock): above the counter and above AT_LEAST_ABOVE
# (the highest id the controller has seen). Prints the id.
# shellcheck source=host_scripts/lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: snapshot_id.sh ENV AT_LEAST_ABOVE"
counter="$HOME/.flotilla/locks/$1.seq"
floor=$2
case $floor in '' | *[!0-9]*) die "$EXIT_USAGE" "snapshot_id.sh: not a number: $floor" ;; esac
n=$(cat "$counter" 2>/dev/null)
case $n in '' | *[!0-9]*) n=0 ;; esac
[ "$n" -lt "$floor" ] && n=$floor
n=$((n + 1))
echo "$n" >"$counter.next" && mv -f "$counter.next" "$counter" && echo "$n"
