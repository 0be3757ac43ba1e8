#!/bin/sh
# logs.sh DEPLOY_TO LINES PATTERN GLOB...
# The unit's log files (GLOBs relative to DEPLOY_TO, expanded here): the
# last LINES lines of each, or with a PATTERN (extended regex) the last
# LINES matches of each, every line prefixed with its file name.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -ge 4 ] || die "$EXIT_USAGE" "usage: logs.sh DEPLOY_TO LINES PATTERN GLOB..."
d=$1
lines=$2
pattern=$3
shift 3
cd -- "$d" 2>/dev/null || die "$EXIT_NO_LOGS" "no $d on this host"
# shellcheck disable=SC2317 # called through each_log_file
show() {
  if [ -z "$pattern" ]; then
    tail -n "$lines" -- "$1" | grep -H --label="$1" ''
  else
    grep -H -n -E -e "$pattern" -- "$1" | tail -n "$lines"
  fi
}
each_log_file show "$@"
exit 0
