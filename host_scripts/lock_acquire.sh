#!/bin/sh
# lock_acquire.sh ENV [HOLDER_TEXT]
# Takes the environment's deploy lock, ~/.flotilla/locks/ENV, with one
# atomic mkdir: exactly one controller creates it. The holder's description
# (JSON, stdin) is written beside it. Exit EXIT_LOCK_HELD if it is held.
# With HOLDER_TEXT (the taker's token): hands a held lock over, rewriting its
# description, only if the lock is held and its description contains the
# text; else exit EXIT_NOT_HOLDER.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || [ $# -eq 2 ] || die "$EXIT_USAGE" "usage: lock_acquire.sh ENV [HOLDER_TEXT]"
lock="$HOME/.flotilla/locks/$1"
if [ $# -eq 2 ]; then
  grep -qF -e "$2" "$lock/holder.json" 2>/dev/null || exit "$EXIT_NOT_HOLDER"
else
  mkdir -p "${lock%/*}" || exit 1
  mkdir "$lock" 2>/dev/null || exit "$EXIT_LOCK_HELD"
fi
cat >"$lock/holder.json.next" && mv "$lock/holder.json.next" "$lock/holder.json"
