#!/bin/sh
# health_probe.sh DEPLOY_TO SECONDS COMMAND
# One try of the unit's health command (already expanded) in the running
# release, bounded by SECONDS; its output is dropped. `status` reads it.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 3 ] || die "$EXIT_USAGE" "usage: health_probe.sh DEPLOY_TO SECONDS COMMAND"
FLOTILLA_PID=$(supervised_pid "$1")
export FLOTILLA_PID
probe "$1/current" "$2" "$3" >/dev/null
