#!/bin/sh
# finish.sh DEPLOY_TO [KEEP_RELEASES KEEP_CONFIGS]
# After a change: appends this host's part of the snapshot (stdin, one JSON
# line) to .flotilla/history.jsonl. With the keep lists (space-separated
# ids), also prunes: releases and configs not kept (never what `current` or
# `shared/config` point to), store files no kept release uses, and secret
# versions `shared/secrets` does not point to. Without them (a failed
# change), nothing is pruned, so a retry need not push again. A change that
# succeeds on every host it activates needs none of this: each activation
# records its host (activate.sh --record).
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
# shellcheck source=retention.sh
. "${0%/*}/retention.sh"
trap '' HUP PIPE
[ $# -eq 1 ] || [ $# -eq 3 ] || die "$EXIT_USAGE" "usage: finish.sh DEPLOY_TO [KEEP_RELEASES KEEP_CONFIGS]"
d=$1
if ! cd "$d" 2>/dev/null; then
  cat >/dev/null
  exit 0
fi
append_history

[ $# -eq 3 ] || exit 0
prune "$2" "$3"

# Old secret versions go as soon as a change succeeded: no rollback goes
# back to a secret (a rotated key may have been revoked).
secrets_link=$(readlink shared/secrets 2>/dev/null)
for p in shared/.secrets/*; do
  [ -d "$p" ] || continue
  [ "$secrets_link" = ".secrets/${p#shared/.secrets/}" ] || rm -rf -- "$p"
done
exit 0
