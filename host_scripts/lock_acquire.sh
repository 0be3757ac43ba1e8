#!/bin/sh
# lock_acquire.sh ENV
# Takes the environment's deploy lock, ~/.flotilla/locks/ENV, with one
# atomic mkdir: exactly one controller creates it. The holder's description
# (JSON, stdin) is written beside it. Exit EXIT_LOCK_HELD if it is held.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || die "$EXIT_USAGE" "usage: lock_acquire.sh ENV"
lock="$HOME/.flotilla/locks/$1"
mkdir -p "${lock%/*}" || exit 1
mkdir "$lock" 2>/dev/null || exit "$EXIT_LOCK_HELD"
cat >"$lock/holder.json.next" && mv "$lock/holder.json.next" "$lock/holder.json"
