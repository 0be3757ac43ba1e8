#!/bin/sh
# lock_holder.sh ENV
# Prints who holds the environment's deploy lock (JSON), or nothing.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || die "$EXIT_USAGE" "usage: lock_holder.sh ENV"
cat "$HOME/.flotilla/locks/$1/holder.json" 2>/dev/null
exit 0
