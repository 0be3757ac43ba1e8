#!/bin/sh
# activate.sh --deploy-to DIR [--OPTION VALUE]...
# Takes one host to a release, config and secrets version: drain, stop,
# switch `current` atomically (a symlink under a temp name, renamed over
# it), start, health check, then record the state on stdin as
# .flotilla/state.json. With `--restart 0` only the config changes: check
# it, switch it, reload the running service (same process). With an empty
# --release the host goes back to running nothing. The unit's hooks run
# around each step; a new config is checked before anything stops. Unit
# commands arrive already expanded; each runs with `sh -c`, with
# FLOTILLA_PID set to the service (`service_pid`: a process of the start,
# found by its mark, the wrapper shell around it skipped), which is what
# {{pid}} expands to. With --players the
# drain waits for the host's players to leave (--deadline seconds at most),
# telling them at each of --notices (seconds left) with --notify, which
# reads the time left from FLOTILLA_MINUTES and FLOTILLA_SECONDS. With
# --restore the service is stopped, the restore command runs with
# FLOTILLA_BACKUP = --backup (a location, never pasted into the command),
# and the release starts again. A failure after
# `current` was switched records --failed-state, so the host's state says
# what `current` really points to, and that it failed.
# Stopped means stopped: every process of the unit (processes.sh) is gone
# before anything starts, or the activation fails. Started means started:
# after the health check, a process of this start still runs.
# With --record LINE, a healthy host appends LINE (its part of the
# snapshot) to its history and prunes to --keep-releases/--keep-configs
# (space-separated ids) itself, as finish.sh would: a change that succeeds
# everywhere needs no round trip after its last batch.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
# shellcheck source=retention.sh
. "${0%/*}/retention.sh"
# shellcheck source=processes.sh
. "${0%/*}/processes.sh"
# The host finishes the step it started even if the controller is killed
# (SIGHUP when sshd drops the session, SIGPIPE on a closed channel).
trap '' HUP PIPE
set -u

d='' unit='' release='' config='' secrets='' restart=1
run='' start='' stop='' reload='' config_check='' drain='' drain_check='' drain_tenths=0
health='' health_label='' health_retries=0 health_timeout=5 health_interval=0.5
before_drain='' before_stop='' after_stop='' before_start='' after_start='' after_health=''
players='' notify='' notices='' deadline=0 restore='' backup=
failed_state='' switched=0 record='' keep_releases='' keep_configs=''
while [ $# -ge 2 ]; do
  case $1 in
    --deploy-to) d=$2 ;;
    --unit) unit=$2 ;;
    --release) release=$2 ;;
    --config) config=$2 ;;
    --secrets) secrets=$2 ;;
    --restart) restart=$2 ;;
    --run) run=$2 ;;
    --start) start=$2 ;;
    --stop) stop=$2 ;;
    --reload) reload=$2 ;;
    --config-check) config_check=$2 ;;
    --drain) drain=$2 ;;
    --drain-check) drain_check=$2 ;;
    --drain-tenths) drain_tenths=$2 ;;
    --players) players=$2 ;;
    --notify) notify=$2 ;;
    --notices) notices=$2 ;;
    --deadline) deadline=$2 ;;
    --restore) restore=$2 ;;
    --backup) backup=$2 ;;
    --health) health=$2 ;;
    --health-label) health_label=$2 ;;
    --health-retries) health_retries=$2 ;;
    --health-timeout) health_timeout=$2 ;;
    --health-interval) health_interval=$2 ;;
    --before-drain) before_drain=$2 ;;
    --before-stop) before_stop=$2 ;;
    --after-stop) after_stop=$2 ;;
    --before-start) before_start=$2 ;;
    --after-start) after_start=$2 ;;
    --after-health) after_health=$2 ;;
    --failed-state) failed_state=$2 ;;
    --record) record=$2 ;;
    --keep-releases) keep_releases=$2 ;;
    --keep-configs) keep_configs=$2 ;;
    *) die "$EXIT_USAGE" "activate.sh: unknown option $1" ;;
  esac
  shift 2
done
if [ $# -ne 0 ] || [ -z "$d" ]; then
  die "$EXIT_USAGE" "usage: activate.sh --deploy-to DIR [--OPTION VALUE]..."
fi

# abort CODE MESSAGE: stops the activation; once `current` was switched,
# the state file first says so (the release it runs, failed).
abort() {
  if [ "$switched" = 1 ] && [ -n "$failed_state" ]; then
    printf '%s\n' "$failed_state" >.flotilla/state.json.next &&
      mv -f .flotilla/state.json.next .flotilla/state.json
  fi
  die "$1" "$2"
}

# hook NAME COMMAND: a failing hook stops the activation, and so does one
# that runs past HOOK_SECONDS (a hook that never ends must not hold the
# batch, and the lock, until the controller's deadline).
HOOK_SECONDS=300
hook() {
  [ -n "$2" ] || return 0
  (cd "$d/current" 2>/dev/null || cd "$d" && timeout "$HOOK_SECONDS" sh -c "$2") ||
    abort "$EXIT_HOOK" "hook $1 failed (or ran past ${HOOK_SECONDS}s)"
}

# switch_link TARGET LINK: LINK points to TARGET, switched by one rename.
switch_link() {
  if ! { ln -sfn "$1" ".flotilla/${2##*/}.next" && mv -Tf ".flotilla/${2##*/}.next" "$2"; }; then
    die "$EXIT_SWITCH" "cannot switch $2"
  fi
}

# wait_for_players: returns once the host's player count is 0, or at the
# deadline. Each notice is sent once, when the time left reaches it; notices
# already due together are one notice. A count that cannot be read is
# waited on like players (never taken as 0), unless the supervised service
# is not running at all. The controller reads "@flotilla:players COUNT LEFT"
# and "@flotilla:notice LEFT" lines from stdout.
wait_for_players() {
  [ -n "$players" ] && [ -e current ] || return 0
  if [ -n "$run" ] && [ -z "$FLOTILLA_PID" ]; then return 0; fi
  phase "waiting for players"
  wfp_end=$(($(now_ms) + deadline * 1000))
  wfp_pending=$notices
  while :; do
    # One read of the count, bounded by the time left (a slow `players`
    # never carries the wait past the deadline by more than a second).
    wfp_read=$(((wfp_end - $(now_ms)) / 1000))
    [ "$wfp_read" -le 10 ] || wfp_read=10
    [ "$wfp_read" -ge 1 ] || wfp_read=1
    wfp_count=$( (cd current 2>/dev/null && timeout "$wfp_read" sh -c "$players" </dev/null 2>/dev/null) |
      tail -n 1 | tr -d ' \t\r')
    case $wfp_count in '' | *[!0-9]*) wfp_count='?' ;; esac
    # Whole seconds left, rounded up: 0 only once the deadline has passed.
    wfp_left=$(((wfp_end - $(now_ms) + 999) / 1000))
    [ "$wfp_left" -ge 0 ] || wfp_left=0
    printf '@flotilla:players %s %s\n' "$wfp_count" "$wfp_left"
    [ "$wfp_count" = 0 ] && return 0
    # Notices due by now are sent even when the deadline has come (a slow
    # read must not swallow the last one).
    wfp_due='' wfp_rest=''
    for wfp_notice in $wfp_pending; do
      if [ "$wfp_left" -le "$wfp_notice" ]; then wfp_due=$wfp_notice; else wfp_rest="$wfp_rest $wfp_notice"; fi
    done
    if [ -n "$wfp_due" ]; then
      wfp_pending=$wfp_rest
      printf '@flotilla:notice %s\n' "$wfp_left"
      if [ -n "$notify" ] && ! (cd current 2>/dev/null &&
        FLOTILLA_MINUTES=$(((wfp_left + 59) / 60)) FLOTILLA_SECONDS=$wfp_left timeout 10 sh -c "$notify" </dev/null) >&2; then
        printf 'notify failed (the restart still waits for players)\n' >&2
      fi
    fi
    if [ "$wfp_left" -le 0 ]; then
      printf 'drain deadline reached with %s player(s) on the host\n' "$wfp_count" >&2
      return 0
    fi
    sleep 1
  done
}

# describe_processes LINES: "pid 4711 (python3) from release a1b2c3d4e5f6"
# for the first three "PID RELEASE COMMAND" lines, one phrase.
describe_processes() {
  printf '%s\n' "$1" | head -n 3 | while read -r dp_pid dp_release dp_comm; do
    printf 'pid %s (%s) from release %.12s, ' "$dp_pid" "$dp_comm" "$dp_release"
  done | sed 's/, $//'
}

# unmarked_processes: processes running from one of the releases that
# are neither marked nor in the session of a start made before marks.
unmarked_processes() {
  up_known=" $(marked_processes "$d" | cut -d' ' -f1 | tr '\n' ' ')"
  if ! current_run "$d" >/dev/null && up_leader=$(supervised_pid "$d"); then
    up_known="$up_known$(session_members "$up_leader" | tr '\n' ' ')"
  fi
  release_processes "$d" | while read -r up_pid up_rest; do
    case $up_known in *" $up_pid "*) ;; *) printf '%s %s\n' "$up_pid" "$up_rest" ;; esac
  done
}

# stop_processes: ends every marked process of the unit (and, for a start
# made before marks, every member of the supervised process's session):
# SIGTERM to each once, SIGKILL to those left after the drain timeout. One
# that outlives SIGKILL (another user's, stuck in the kernel) fails the
# activation before anything starts.
stop_processes() {
  sp_session=''
  if ! current_run "$d" >/dev/null; then sp_session=$(supervised_pid "$d") || sp_session=''; fi
  sp_termed=' ' sp_killed=0 i=0 soon=0
  while :; do
    sp_left=$({
      marked_processes "$d" | cut -d' ' -f1
      session_members "$sp_session"
    } | sort -u)
    [ -n "$sp_left" ] || return 0
    for sp_pid in $sp_left; do
      case $sp_termed in *" $sp_pid "*) continue ;; esac
      kill -TERM "$sp_pid" 2>/dev/null
      sp_termed="$sp_termed$sp_pid "
    done
    if [ "$i" -ge "$kill_after" ]; then
      # shellcheck disable=SC2086 # pids, split on purpose
      kill -KILL $sp_left 2>/dev/null
      sp_killed=$((sp_killed + 1))
      if [ "$sp_killed" -gt 20 ]; then
        sp_what=$(for sp_pid in $sp_left; do
          sp_comm=''
          { read -r sp_comm <"/proc/$sp_pid/comm"; } 2>/dev/null
          printf 'pid %s (%s), ' "$sp_pid" "$sp_comm"
        done | sed 's/, $//')
        die "$EXIT_STOP" "$sp_what of the unit outlived SIGKILL: nothing was started over it"
      fi
    fi
    # Most services are gone within milliseconds: look again soon, then
    # every tenth of a second.
    if [ "$soon" -lt 10 ]; then
      soon=$((soon + 1))
      sleep 0.01
    else
      i=$((i + 1))
      sleep 0.1
    fi
  done
}

# verify_started: after the health check, a process of this start must
# still run, and none of it from another release than the one started.
verify_started() {
  vs_live=$(marked_processes "$d" | while read -r vs_pid vs_run; do
    [ "$vs_run" = "$run_id" ] && printf '%s ' "$vs_pid"
  done)
  vs_why=''
  if [ -z "$vs_live" ]; then
    vs_why="the started process exited"
  else
    vs_wrong=$(release_processes "$d" | while read -r vs_pid vs_release vs_comm; do
      case " $vs_live" in *" $vs_pid "*) ;; *) continue ;; esac
      [ "$vs_release" = "$release" ] || printf '%s %s %s\n' "$vs_pid" "$vs_release" "$vs_comm"
    done)
    [ -z "$vs_wrong" ] || vs_why="the started process runs another release: $(describe_processes "$vs_wrong")"
  fi
  [ -n "$vs_why" ] || return 0
  vs_others=$(release_processes "$d")
  [ -z "$vs_others" ] || vs_why="$vs_why; still running: $(describe_processes "$vs_others")"
  vs_last=$(tail -n 1 "shared/log/$unit.log" 2>/dev/null | cut -c 1-160)
  [ -z "$vs_last" ] || vs_why="$vs_why; its log ends: $vs_last"
  [ -z "$health" ] || vs_why="health passed but $vs_why"
  abort "$EXIT_NOT_RUNNING" "$vs_why"
}

switch_config() {
  if [ -n "$config" ]; then switch_link "../.flotilla/configs/$config" shared/config; fi
  if [ -n "$secrets" ]; then switch_link ".secrets/$secrets" shared/secrets; fi
}

cd "$d" || die "$EXIT_NO_DIR" "cannot enter $d"
mkdir -p shared/log .flotilla
if [ -n "$release" ] && { [ ! -d "releases/$release" ] || [ -L "releases/$release" ]; }; then
  die "$EXIT_MISSING" "release $release is not on this host"
fi
# A `current` that is not a link (a directory put there by hand) cannot be
# switched atomically: refuse before anything stops.
if [ -e current ] && [ ! -L current ]; then
  die "$EXIT_SWITCH" "$d/current is not a symlink: move it away, flotilla will not replace it"
fi
FLOTILLA_PID=$(service_pid "$d")
export FLOTILLA_PID
if [ -n "$config" ]; then
  [ -d ".flotilla/configs/$config" ] || die "$EXIT_MISSING" "config $config is not on this host"
  # Checked by the release that will read it, before anything stops.
  if [ -n "$config_check" ]; then
    phase "config check"
    check_in=current
    if [ "$restart" = 1 ] && [ -n "$release" ]; then check_in="releases/$release"; fi
    (cd "$check_in" && FLOTILLA_CONFIG_DIR="$d/.flotilla/configs/$config" sh -c "$config_check") >&2 ||
      die "$EXIT_CONFIG_CHECK" "config check failed"
  fi
fi
if [ -n "$secrets" ] && [ ! -d "shared/.secrets/$secrets" ]; then
  die "$EXIT_MISSING" "secrets $secrets are not on this host"
fi

if [ "$restart" != 1 ]; then
  # Config only: the running process stays (same pid), it reloads.
  phase reloading
  switch_config
  if [ -n "$reload" ]; then
    (cd current && sh -c "$reload") || die "$EXIT_RELOAD" "reload failed"
  else
    if [ -z "$FLOTILLA_PID" ] || ! kill -HUP "$FLOTILLA_PID" 2>/dev/null; then
      die "$EXIT_RELOAD" "reload failed: no running process"
    fi
  fi
else
  if [ -n "$run" ]; then
    # A process running from a release without the unit's mark would keep
    # the port: refuse before anything stops.
    # (A moment's reader, say a one-off command in `current`, is waited
    # out for a second.)
    i=0
    while foreign=$(unmarked_processes) && [ -n "$foreign" ]; do
      i=$((i + 1))
      if [ "$i" -gt 10 ]; then
        die "$EXIT_STOP" "$(describe_processes "$foreign") runs from a release without this unit's mark (started by hand, or before flotilla marked its starts): stop it; nothing was changed"
      fi
      sleep 0.1
    done
  fi
  # Drain: tell the service, wait until it says it is drained (or the timeout).
  phase draining
  hook before_drain "$before_drain"
  if [ -n "$drain" ]; then
    (cd current 2>/dev/null && timeout $((drain_tenths / 10 + 10)) sh -c "$drain") || true
  fi
  wait_for_players
  if [ -n "$drain_check" ]; then
    i=0
    until (cd current 2>/dev/null && timeout 10 sh -c "$drain_check"); do
      i=$((i + 1))
      [ "$i" -ge "$drain_tenths" ] && break
      sleep 0.1
    done
  fi

  phase stopping
  hook before_stop "$before_stop"
  # SIGKILL once the drain timeout has passed (in tenths of a second).
  kill_after=$drain_tenths
  [ "$kill_after" -ge 1 ] || kill_after=1
  if [ -n "$run" ]; then
    stop_processes
    rm -f .flotilla/pid .flotilla/pid.start .flotilla/run
  elif [ -n "$stop" ]; then
    (cd current 2>/dev/null || cd "$d" && sh -c "$stop") || true
  fi
  # Whatever stopped it, nothing may still run from one of the releases
  # (a moment's reader, `status` probing health in `current`, may).
  i=0
  while left=$(release_processes "$d") && [ -n "$left" ]; do
    i=$((i + 1))
    if [ "$i" -gt "$kill_after" ]; then
      die "$EXIT_STOP" "the stop left $(describe_processes "$left") running: nothing was started over it"
    fi
    sleep 0.1
  done
  hook after_stop "$after_stop"
  if [ -n "$restore" ]; then
    phase restoring
    (cd current 2>/dev/null || cd "$d" && FLOTILLA_BACKUP=$backup sh -c "$restore" </dev/null) >&2 ||
      die "$EXIT_RESTORE" "restore failed"
  fi

  if [ -z "$release" ]; then
    # Back to nothing: the host ran no release before this deploy.
    rm -f current .flotilla/state.json
    cat >/dev/null
    exit 0
  fi
  switch_config
  phase switching
  # Readers see the old release or the new one, never nothing.
  ln -sfn "releases/$release" .flotilla/current.next && mv -Tf .flotilla/current.next current
  [ "$(readlink current)" = "releases/$release" ] ||
    die "$EXIT_SWITCH" "cannot switch current to releases/$release"
  switched=1

  phase starting
  hook before_start "$before_start"
  if [ -n "$run" ]; then
    # Every line the service writes is stamped with the time it was written
    # (ISO-8601 UTC) by an awk that reads its output through a FIFO and
    # lives as long as that output (its own session: stopping the service
    # never cuts its last lines). In the background: opening a FIFO waits
    # for the other end; nothing of it may hold the session's output open.
    # mawk buffers its input unless interactive.
    rm -f .flotilla/log.fifo
    mkfifo -m 600 .flotilla/log.fifo || die "$EXIT_START" "cannot make $d/.flotilla/log.fifo"
    awk_mode=
    case $(awk -W version 2>&1) in mawk*) awk_mode="-W interactive" ;; esac
    # shellcheck disable=SC2016 # $1..$3 belong to the started shell
    setsid -f sh -c 'TZ=UTC0 exec awk $1 "$2" >>"$3"' flotilla-stamp "$awk_mode" \
      '{ print strftime("%Y-%m-%dT%H:%M:%SZ"), $0; fflush() }' \
      "$d/shared/log/$unit.log" <.flotilla/log.fifo >/dev/null 2>&1 &
    # Every process of this start carries the unit's mark (processes.sh).
    mark=$(ensure_unit_id "$d") || die "$EXIT_START" "cannot write $d/.flotilla/unit.id"
    run_id=$(random_id)
    printf '%s %s\n' "$run_id" "$release" >.flotilla/run
    # shellcheck disable=SC2016 # $$ and $1 belong to the started shell
    (cd current && FLOTILLA_PROCESS="$mark:$run_id" setsid -f sh -c 'echo $$ > "$1"; exec sh -c "$2"' \
      flotilla-run "$d/.flotilla/pid" "$run" >"$d/.flotilla/log.fifo" 2>&1 </dev/null)
    i=0
    while [ ! -s "$d/.flotilla/pid" ] && [ "$i" -lt 50 ]; do
      i=$((i + 1))
      sleep 0.02
    done
    # What identifies the process from now on, beyond its pid.
    proc_start "$(cat "$d/.flotilla/pid")" >.flotilla/pid.start 2>/dev/null || true
    FLOTILLA_PID=$(service_pid "$d")
  elif [ -n "$start" ]; then
    (cd current && sh -c "$start") || abort "$EXIT_START" "start failed"
  fi
  hook after_start "$after_start"
fi

if [ -n "$health" ]; then
  # The last try's output (a few lines) says why it failed.
  i=0
  until phase "health check $((i + 1))/$((health_retries + 1))"; out=$(probe current "$health_timeout" "$health"); do
    i=$((i + 1))
    if [ "$i" -gt "$health_retries" ]; then
      printf '%s\n' "$out" | tail -n 5 | sed 's/^/  | /' >&2
      abort "$EXIT_HEALTH" "health check failed after $((health_retries + 1)) tries: $health_label"
    fi
    sleep "$health_interval"
  done
fi
if [ "$restart" = 1 ] && [ -n "$run" ]; then verify_started; fi
hook after_health "$after_health"
phase recording
cat >.flotilla/state.json.next && mv -f .flotilla/state.json.next .flotilla/state.json || exit
if [ -n "$record" ]; then
  printf '%s\n' "$record" | append_history
  prune "$keep_releases" "$keep_configs"
fi
