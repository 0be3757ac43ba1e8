# shellcheck shell=sh
# The unit's processes as they are, not as a pid file says: spliced into
# activate.sh and survey.sh (embed.py's LIBRARIES).
#
# Every process a start of the unit makes carries FLOTILLA_PROCESS=UNIT:RUN
# in its environment: UNIT is this unit's id on this host
# (.flotilla/unit.id, random, made once), RUN the id of that start
# (.flotilla/run: "RUN RELEASE"). Children inherit it through wrappers that
# fork, daemonize (setsid, double fork) or exec through a version-manager
# shim, so the whole tree is found however it was written. A pid reused by
# an unrelated process never carries the mark. The same path on another
# machine (or in another mount namespace of this one) has its own UNIT.

# unit_id DEPLOY_TO: prints the unit's id on this host; fails when it has
# none yet (nothing was ever started with a mark).
unit_id() {
  ui_id=''
  { read -r ui_id <"$1/.flotilla/unit.id"; } 2>/dev/null
  case $ui_id in '' | *[!0-9a-f-]*) return 1 ;; esac
  printf '%s\n' "$ui_id"
}

# random_id: 32 hex digits from the kernel's generator.
random_id() {
  ri_id=''
  { read -r ri_id </proc/sys/kernel/random/uuid; } 2>/dev/null ||
    ri_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  printf '%s\n' "$ri_id" | tr -d '-'
}

# ensure_unit_id DEPLOY_TO: the unit's id, made on first use.
ensure_unit_id() {
  unit_id "$1" && return 0
  random_id >"$1/.flotilla/unit.id.next" && mv -f "$1/.flotilla/unit.id.next" "$1/.flotilla/unit.id" &&
    unit_id "$1"
}

# current_run DEPLOY_TO: "RUN RELEASE" of the newest marked start.
current_run() {
  cr_line=''
  { read -r cr_line <"$1/.flotilla/run"; } 2>/dev/null
  case $cr_line in '' | *[!0-9a-zA-Z_\ -]*) return 1 ;; esac
  printf '%s\n' "$cr_line"
}

# marked_processes DEPLOY_TO: one "PID RUN" line per live process carrying
# the unit's mark (zombies have no environment). One grep reads them all.
marked_processes() {
  mp_unit=$(unit_id "$1") || return 0
  grep -sazoH -e "^FLOTILLA_PROCESS=$mp_unit:[0-9a-f]*\$" /proc/[0-9]*/environ 2>/dev/null |
    tr '\0' '\n' | sed -n 's|^/proc/\([0-9]*\)/environ:FLOTILLA_PROCESS=[0-9a-f]*:\([0-9a-f]*\)$|\1 \2|p'
}

# session_members SID: pids whose session is SID. Linux never reuses a
# number while a session still has members, so this finds only the
# session a start made (for starts made before the mark existed).
session_members() {
  case $1 in '' | *[!0-9]*) return 0 ;; esac
  for sm_stat in /proc/[0-9]*/stat; do
    sm_line=''
    { read -r sm_line <"$sm_stat"; } 2>/dev/null || continue
    # shellcheck disable=SC2086 # fields after the command name, split on purpose
    set -- "$1" ${sm_line##*) }
    case $2 in Z* | X*) continue ;; esac
    [ "${5:-}" = "$1" ] && printf '%s\n' "${sm_line%% *}"
  done
}

# release_processes DEPLOY_TO: "PID RELEASE COMMAND" for every process of
# this machine (this mount namespace) whose working directory or
# executable lies in one of the unit's releases and that has no
# controlling terminal (an operator's shell in `current` is not the unit).
release_processes() {
  rp_dir=$1
  rp_found=$(find /proc/[0-9]*/cwd /proc/[0-9]*/exe -maxdepth 0 -lname "$rp_dir/releases/*" \
    -printf '%p %l\n' 2>/dev/null)
  [ -n "$rp_found" ] || return 0
  # Of those, the processes in this mount namespace: one find for all.
  rp_links=$(printf '%s\n' "$rp_found" | sed 's|^/proc/\([0-9]*\)/.*|/proc/\1/ns/mnt|' | sort -u)
  # shellcheck disable=SC2086 # /proc paths of pids, split on purpose
  rp_here=" $(find -L $rp_links -maxdepth 0 -samefile /proc/self/ns/mnt -printf '%h\n' 2>/dev/null |
    sed 's|^/proc/\([0-9]*\)/ns$|\1|' | tr '\n' ' ')"
  # Less flotilla's own health probes (FLOTILLA_STEP=probe, lib.sh).
  rp_probes=" $(printf '%s\n' "$rp_links" | sed 's|/ns/mnt$|/environ|' |
    xargs -r grep -lsazx 'FLOTILLA_STEP=probe' 2>/dev/null |
    sed 's|^/proc/\([0-9]*\)/environ$|\1|' | tr '\n' ' ')"
  printf '%s\n' "$rp_found" | while read -r rp_link rp_target; do
    rp_pid=${rp_link#/proc/}
    rp_pid=${rp_pid%%/*}
    case $rp_here in *" $rp_pid "*) ;; *) continue ;; esac
    case $rp_probes in *" $rp_pid "*) continue ;; esac
    rp_stat=''
    { read -r rp_stat <"/proc/$rp_pid/stat"; } 2>/dev/null || continue
    # shellcheck disable=SC2086 # fields after the command name, split on purpose
    set -- ${rp_stat##*) }
    case ${1:-} in Z* | X*) continue ;; esac
    [ "${5:-0}" = 0 ] || continue
    # A directory or binary removed since (a release pruned, a deploy_to
    # deleted under a running orphan) reads "PATH (deleted)".
    rp_target=${rp_target% (deleted)}
    rp_release=${rp_target#"$rp_dir/releases/"}
    rp_comm=''
    { read -r rp_comm <"/proc/$rp_pid/comm"; } 2>/dev/null
    printf '%s %s %s\n' "$rp_pid" "${rp_release%%/*}" "$rp_comm"
  done | sort -u -k1,1n
}

# service_pid DEPLOY_TO: the process {{pid}} names and a default reload
# signals: the service, not the shell around it. From the started process
# (or, once that exited, the oldest of its start) down the chain while a
# process has exactly one child of the start: a `sh -c 'bin/server'`
# wrapper waiting for its one child is skipped; a process with several
# children is the service's own supervisor. A start made before marks:
# the started process.
service_pid() {
  sv_run=$(current_run "$1") || {
    supervised_pid "$1"
    return
  }
  sv_run=${sv_run%% *}
  sv_pairs=$(marked_processes "$1" | while read -r sv_pid sv_start; do
    [ "$sv_start" = "$sv_run" ] || continue
    sv_stat=''
    { read -r sv_stat <"/proc/$sv_pid/stat"; } 2>/dev/null || continue
    # shellcheck disable=SC2086 # fields after the command name, split on purpose
    set -- ${sv_stat##*) }
    printf '%s %s\n' "$sv_pid" "$2"
  done)
  [ -n "$sv_pairs" ] || return 1
  sv_top=$(supervised_pid "$1") || sv_top=''
  case " $(printf '%s\n' "$sv_pairs" | cut -d' ' -f1 | tr '\n' ' ')" in
    *" $sv_top "*) ;;
    *) sv_top=$(printf '%s\n' "$sv_pairs" | sort -n | head -n 1 | cut -d' ' -f1) ;;
  esac
  while :; do
    sv_children=$(printf '%s\n' "$sv_pairs" | while read -r sv_pid sv_parent; do
      [ "$sv_parent" = "$sv_top" ] && printf '%s\n' "$sv_pid"
    done)
    case $sv_children in '' | *"
"*) break ;; esac
    sv_top=$sv_children
  done
  printf '%s\n' "$sv_top"
}
