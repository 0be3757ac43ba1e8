#!/bin/sh
# survey.sh DEPLOY_TO
# One read of a host: its state file, whether its supervised process runs,
# where its links point, the releases and configs it keeps, its part of the
# snapshot history, and which of the sha256s on stdin its store lacks.
# Each section follows a line "--flotilla:NAME--".
# shellcheck source=host_scripts/lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || die "$EXIT_USAGE" "usage: survey.sh DEPLOY_TO"
d=$1
echo "--flotilla:state--"
cat -- "$d/.flotilla/state.json" 2>/dev/null
echo
echo "--flotilla:status--"
if [ -f "$d/.flotilla/pid" ] && ! alive "$(cat "$d/.flotilla/pid")"; then echo stopped; fi
echo "current $(readlink "$d/current" 2>/dev/null)"
echo "config $(readlink "$d/shared/config" 2>/dev/null)"
echo "secrets $(readlink "$d/shared/secrets" 2>/dev/null)"
echo "--flotilla:releases--"
ls -1 "$d/releases" 2>/dev/null
echo "--flotilla:configs--"
ls -1 "$d/.flotilla/configs" 2>/dev/null
echo "--flotilla:history--"
tail -n 200 "$d/.flotilla/history.jsonl" 2>/dev/null
echo "--flotilla:missing--"
store="$d/.flotilla/store"
while IFS= read -r sha; do
  [ -f "$store/$sha" ] || printf '%s\n' "$sha"
done
exit 0
