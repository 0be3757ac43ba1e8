#!/bin/sh
# backup_verify.sh DEPLOY_TO BACKUP COMMAND
# The restore drill after a backup: runs the unit's verify command (already
# expanded) with FLOTILLA_BACKUP set to what the backup printed as its
# location ({{backup}} in the command reads it; it is never pasted into the
# command's text), in the running release or in /.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
# shellcheck source=processes.sh
. "${0%/*}/processes.sh"
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: backup_verify.sh DEPLOY_TO BACKUP COMMAND"
FLOTILLA_BACKUP=$2
FLOTILLA_PID=$(service_pid "$1")
export FLOTILLA_BACKUP FLOTILLA_PID
cd "$1/current" 2>/dev/null || cd /
exec sh -c "$3"
