#!/bin/sh
# snapshot_id.sh ENV AT_LEAST_ABOVE
# The environment's next snapshot id from the counter beside its lock
# (call it holding the lock): above the counter and above AT_LEAST_ABOVE
# (the highest id the controller has seen). Prints the id.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: snapshot_id.sh ENV AT_LEAST_ABOVE"
counter="$HOME/.flotilla/locks/$1.seq"
floor=$2
case $floor in '' | *[!0-9]*) die "$EXIT_USAGE" "snapshot_id.sh: not a number: $floor" ;; esac
# Decimal whatever the file holds ("099" is 99, not octal); ids stay below
# a billion, so a corrupt or forged counter stops here, not in a wrap.
n=$(head -c 64 "$counter" 2>/dev/null | tr -d ' \n')
case $n in '' | *[!0-9]*) n=0 ;; esac
n=${n#"${n%%[!0]*}"}
floor=${floor#"${floor%%[!0]*}"}
if [ ${#n} -gt 9 ] || [ ${#floor} -gt 9 ]; then
  die "$EXIT_USAGE" "snapshot counter $counter is out of range; fix or remove it by hand"
fi
n=${n:-0}
floor=${floor:-0}
[ "$n" -lt "$floor" ] && n=$floor
n=$((n + 1))
echo "$n" >"$counter.next" && mv -f "$counter.next" "$counter" && echo "$n"
