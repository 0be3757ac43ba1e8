#!/bin/sh
# retention.sh: a change's record on a host and what the host keeps, shared
# by finish.sh and activate.sh (embed.py splices it in where they source it,
# after lib.sh). Both run them in DEPLOY_TO.

# append_history: the line on stdin joins .flotilla/history.jsonl, which
# keeps its newest 500 lines once it passes 1000. What a killed receive or
# assemble left behind (their names end in the pid of the shell that made
# them) goes once that shell is gone.
append_history() {
  [ -d .flotilla ] || mkdir -p .flotilla
  cat >>.flotilla/history.jsonl
  if [ "$(wc -l <.flotilla/history.jsonl)" -gt 1000 ]; then
    tail -n 500 .flotilla/history.jsonl >.flotilla/history.next &&
      mv -f .flotilla/history.next .flotilla/history.jsonl
  fi
  for ah_p in .flotilla/store/.incoming.* releases/.*.partial.*; do
    [ -e "$ah_p" ] || continue
    ah_owner=${ah_p##*.}
    case $ah_owner in '' | *[!0-9]*) continue ;; esac
    alive "$ah_owner" || rm -rf -- "$ah_p"
  done
}

# prune KEEP_RELEASES KEEP_CONFIGS (space-separated ids): releases and
# configs not kept go (never what `current` or `shared/config` point to),
# and, when a release went, store files no kept release uses (orphans of a
# failed push wait for the next release to go: a sweep of the store costs
# a dozen processes, and most changes remove nothing).
prune() {
  pr_releases=" $1 "
  pr_configs=" $2 "
  pr_current=$(readlink current 2>/dev/null)
  pr_removed=0
  pr_config_link=$(readlink shared/config 2>/dev/null)
  for pr_p in releases/*; do
    [ -d "$pr_p" ] || continue
    pr_id=${pr_p#releases/}
    case $pr_releases in *" $pr_id "*) continue ;; esac
    [ "$pr_current" = "$pr_p" ] && continue
    rm -rf -- "$pr_p" ".flotilla/manifests/$pr_id.sums"
    pr_removed=1
  done
  for pr_p in .flotilla/configs/*; do
    [ -d "$pr_p" ] || continue
    pr_id=${pr_p#.flotilla/configs/}
    case $pr_configs in *" $pr_id "*) continue ;; esac
    [ "$pr_config_link" = "../$pr_p" ] && continue
    rm -rf -- "$pr_p"
  done

  # Store files are kept by the checksum lists of kept releases; a release
  # without one (assembled by an older flotilla) keeps the whole store.
  pr_all=$pr_removed
  for pr_p in releases/*; do
    [ -d "$pr_p" ] || continue
    [ -f ".flotilla/manifests/${pr_p#releases/}.sums" ] || pr_all=0
  done
  if [ $pr_all = 1 ] && [ -d .flotilla/store ]; then
    pr_keep=.flotilla/keep.$$
    cat .flotilla/manifests/*.sums 2>/dev/null | cut -c1-64 | LC_ALL=C sort -u >"$pr_keep"
    # Store files are named by their sha256: plain words.
    # shellcheck disable=SC2012
    ls -1 .flotilla/store | LC_ALL=C sort | LC_ALL=C comm -23 - "$pr_keep" |
      (cd .flotilla/store && xargs -r rm -f --)
    rm -f "$pr_keep"
  fi
}
