#!/bin/sh
# logs_follow.sh DEPLOY_TO PATTERN GLOB...
# Follows the unit's log files (GLOBs relative to DEPLOY_TO, expanded here;
# rotated files are followed by name): every new line that matches PATTERN
# (an extended regex; empty: every line) as "FILE<TAB>LINE". It says
# "#flotilla-follow" once tail has opened the files and "#flotilla-alive" every 10s;
# when that write fails the controller is gone, and it stops.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -ge 3 ] || die "$EXIT_USAGE" "usage: logs_follow.sh DEPLOY_TO PATTERN GLOB..."
d=$1
pattern=$2
shift 2
cd -- "$d" 2>/dev/null || die "$EXIT_NO_LOGS" "no $d on this host"
each_log_file : "$@"
unset file
# tail names each file in a "==> FILE <==" header when it switches files;
# grep keeps those and the matching lines, and passes each on at once.
print0() { printf '%s\0' "$1"; }
each_log_file print0 "$@" | xargs -0 tail -v -n 0 -F -- 2>/dev/null |
  grep --line-buffered -E -e '^==> .* <==$' -e "$pattern" |
  while IFS= read -r line; do
    case $line in
      '==> '*' <==')
        # Printed once tail has the file open: from here no line is missed.
        [ -n "${file+set}" ] || echo "#flotilla-follow"
        file=${line#==> }
        file=${file% <==}
        ;;
      *) printf '%s\t%s\n' "$file" "$line" ;;
    esac
  done &
while sleep 10; do
  echo "#flotilla-alive" 2>/dev/null || break
done
# The whole session's process group: xargs, tail, grep, the loop and this shell.
kill 0
