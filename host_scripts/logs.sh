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
found=0
for glob in "$@"; do
  # Unquoted on purpose: the glob is expanded here, on the host.
  for f in $glob; do
    [ -f "$f" ] || continue
    found=1
    if [ -z "$pattern" ]; then
      tail -n "$lines" -- "$f" | grep -H --label="$f" ''
    else
      grep -H -n -E -e "$pattern" -- "$f" | tail -n "$lines"
    fi
  done
done
[ $found = 1 ] || die "$EXIT_NO_LOGS" "no log files match $*"
exit 0
