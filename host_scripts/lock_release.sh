#!/bin/sh
# lock_release.sh ENV [HOLDER_TEXT]
# Releases the environment's deploy lock. With HOLDER_TEXT, only if the
# holder's description contains it (the taker's token, or this
# controller's name); else exit EXIT_NOT_HOLDER. Without it: whoever holds
# it (--force). A free lock is released already.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -eq 1 ] || [ $# -eq 2 ] || die "$EXIT_USAGE" "usage: lock_release.sh ENV [HOLDER_TEXT]"
lock="$HOME/.flotilla/locks/$1"
[ -d "$lock" ] || exit 0
if [ $# -eq 2 ]; then
  grep -qF -e "$2" "$lock/holder.json" 2>/dev/null || exit "$EXIT_NOT_HOLDER"
fi
rm -rf "$lock"
