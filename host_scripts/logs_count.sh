#!/bin/sh
# logs_count.sh DEPLOY_TO SECONDS TOP PATTERN GLOB...
# The patrol: in each of the unit's log files (GLOBs relative to DEPLOY_TO),
# the lines the supervisor stamped within the last SECONDS (by this host's
# clock, as the stamps are) that match PATTERN (an extended regex; empty:
# all). Prints per file "count<TAB>FILE<TAB>N", then its last TOP matches
# as "line<TAB>FILE<TAB>TEXT". Lines without a stamp are not counted.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -ge 5 ] || die "$EXIT_USAGE" "usage: logs_count.sh DEPLOY_TO SECONDS TOP PATTERN GLOB..."
d=$1
seconds=$2
top=$3
pattern=$4
shift 4
case $seconds$top in *[!0-9]* | "") die "$EXIT_USAGE" "SECONDS and TOP are numbers" ;; esac
[ "$top" -ge 1 ] || top=1
since=$(date -u -d "-$seconds seconds" +%Y-%m-%dT%H:%M:%SZ) || die "$EXIT_USAGE" "cannot compute the window"
cd -- "$d" 2>/dev/null || die "$EXIT_NO_LOGS" "no $d on this host"
# shellcheck disable=SC2317 # called through each_log_file
count() {
  FILE=$1 PATTERN=$pattern awk -v since="$since" -v top="$top" '
    BEGIN { p = ENVIRON["PATTERN"]; f = ENVIRON["FILE"]; n = 0 }
    $1 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T/ && $1 >= since && (p == "" || $0 ~ p) {
      n++; last[n % top] = $0
    }
    END {
      printf "count\t%s\t%d\n", f, n
      for (i = n - top + 1; i <= n; i++) if (i >= 1) printf "line\t%s\t%s\n", f, last[i % top]
    }' "$1"
}
each_log_file count "$@"
exit 0
