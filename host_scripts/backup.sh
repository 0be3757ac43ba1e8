#!/bin/sh
# backup.sh DEPLOY_TO COMMAND
# Runs the unit's backup command (already expanded) in the running release,
# or in / when there is none yet. Its last line of output names the backup.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
# shellcheck source=processes.sh
. "${0%/*}/processes.sh"
[ $# -eq 2 ] || die "$EXIT_USAGE" "usage: backup.sh DEPLOY_TO COMMAND"
FLOTILLA_PID=$(service_pid "$1")
export FLOTILLA_PID
cd "$1/current" 2>/dev/null || cd /
exec sh -c "$2"
