#!/bin/sh
# survey.sh DEPLOY_TO [SECONDS HEALTH_COMMAND]
# One read of a host, one line per section ("NAME BASE64", see `section`):
# its state file, whether its supervised process runs, where its links
# point, the releases and configs it keeps, its part of the snapshot
# history, and which of the sha256s on stdin its store lacks. Files are
# read with a bound: a host's answer stays small whatever it holds. With a
# health command (already expanded), one try of it in the running release,
# bounded by SECONDS: section `health`, "ok" or "failing". Section
# `processes` says what really runs (processes.sh): "run RUN RELEASE" (the
# newest marked start), "marked PID RUN", "from PID RELEASE COMMAND", and
# for a start made before marks "session PID" (its supervised session).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
# shellcheck source=processes.sh
. "${0%/*}/processes.sh"
[ $# -eq 1 ] || [ $# -eq 3 ] || die "$EXIT_USAGE" "usage: survey.sh DEPLOY_TO [SECONDS HEALTH_COMMAND]"
d=$1
if [ $# -eq 3 ]; then
  FLOTILLA_PID=$(service_pid "$d")
  export FLOTILLA_PID
  if probe "$d/current" "$2" "$3" >/dev/null; then echo ok; else echo failing; fi | section health
fi
head -c 1048576 "$d/.flotilla/state.json" 2>/dev/null | section state
{
  if [ -f "$d/.flotilla/pid" ] && ! current_run "$d" >/dev/null && ! supervised_pid "$d" >/dev/null; then
    echo stopped
  fi
  echo "current $(readlink "$d/current" 2>/dev/null)"
  [ -e "$d/current" ] && [ ! -L "$d/current" ] && echo "current-not-a-link"
  echo "config $(readlink "$d/shared/config" 2>/dev/null)"
  echo "secrets $(readlink "$d/shared/secrets" 2>/dev/null)"
} | section status
{
  if run_line=$(current_run "$d"); then
    echo "run $run_line"
  elif leader=$(supervised_pid "$d"); then
    session_members "$leader" | sed 's/^/session /'
  fi
  marked_processes "$d" | sed 's/^/marked /'
  release_processes "$d" | sed 's/^/from /'
} | head -n 1000 | section processes
find "$d/releases" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | section releases
find "$d/.flotilla/configs" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | section configs
tail -n 200 "$d/.flotilla/history.jsonl" 2>/dev/null | head -c 4194304 | section history
store="$d/.flotilla/store"
while IFS= read -r sha; do
  [ -f "$store/$sha" ] || printf '%s\n' "$sha"
done | section missing
exit 0
