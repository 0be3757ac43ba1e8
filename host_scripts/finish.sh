#!/bin/sh
# finish.sh DEPLOY_TO [KEEP_RELEASES KEEP_CONFIGS]
# After a change: appends this host's part of the snapshot (stdin, one JSON
# line) to .flotilla/history.jsonl. With the keep lists (space-separated
# ids), also prunes: releases and configs not kept (never what `current` or
# `shared/config` point to), store files no kept release uses, and secret
# versions `shared/secrets` does not point to. Without them (a failed
# change), nothing is pruned, so a retry need not push again.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
trap '' HUP PIPE
[ $# -eq 1 ] || [ $# -eq 3 ] || die "$EXIT_USAGE" "usage: finish.sh DEPLOY_TO [KEEP_RELEASES KEEP_CONFIGS]"
d=$1
if ! cd "$d" 2>/dev/null; then
  cat >/dev/null
  exit 0
fi
mkdir -p .flotilla
cat >>.flotilla/history.jsonl
if [ "$(wc -l <.flotilla/history.jsonl)" -gt 1000 ]; then
  tail -n 500 .flotilla/history.jsonl >.flotilla/history.next &&
    mv -f .flotilla/history.next .flotilla/history.jsonl
fi
# What a killed receive or assemble left behind (their names end in the
# pid of the shell that made them) goes once that shell is gone.
for p in .flotilla/store/.incoming.* releases/.*.partial.*; do
  [ -e "$p" ] || continue
  owner=${p##*.}
  case $owner in '' | *[!0-9]*) continue ;; esac
  alive "$owner" || rm -rf -- "$p"
done

[ $# -eq 3 ] || exit 0
keep_releases=" $2 "
keep_configs=" $3 "

current=$(readlink current 2>/dev/null)
config_link=$(readlink shared/config 2>/dev/null)
for p in releases/*; do
  [ -d "$p" ] || continue
  id=${p#releases/}
  case $keep_releases in *" $id "*) continue ;; esac
  [ "$current" = "$p" ] && continue
  rm -rf -- "$p" ".flotilla/manifests/$id.sums"
done
for p in .flotilla/configs/*; do
  [ -d "$p" ] || continue
  id=${p#.flotilla/configs/}
  case $keep_configs in *" $id "*) continue ;; esac
  [ "$config_link" = "../$p" ] && continue
  rm -rf -- "$p"
done

# Store files are kept by the checksum lists of kept releases; a release
# without one (assembled by an older flotilla) keeps the whole store.
all=1
for p in releases/*; do
  [ -d "$p" ] || continue
  [ -f ".flotilla/manifests/${p#releases/}.sums" ] || all=0
done
if [ $all = 1 ] && [ -d .flotilla/store ]; then
  keep=.flotilla/keep.$$
  cat .flotilla/manifests/*.sums 2>/dev/null | cut -c1-64 | LC_ALL=C sort -u >"$keep"
  # Store files are named by their sha256: plain words.
  # shellcheck disable=SC2012
  ls -1 .flotilla/store | LC_ALL=C sort | LC_ALL=C comm -23 - "$keep" |
    (cd .flotilla/store && xargs -r rm -f --)
  rm -f "$keep"
fi

# Old secret versions go as soon as a change succeeded: no rollback goes
# back to a secret (a rotated key may have been revoked).
secrets_link=$(readlink shared/secrets 2>/dev/null)
for p in shared/.secrets/*; do
  [ -d "$p" ] || continue
  [ "$secrets_link" = ".secrets/${p#shared/.secrets/}" ] || rm -rf -- "$p"
done
exit 0
