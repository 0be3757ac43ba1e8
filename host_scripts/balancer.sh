#!/bin/sh
# balancer.sh SOCKET BACKEND ACTION [ARG...]
# One HAProxy, through its runtime API socket (socat, else nc -U). Every
# name arrives as an argument and is checked against HAProxy's own
# character set before it becomes part of a runtime API line, where ';'
# would start a second command.
#   show                    `show stat` of BACKEND's servers (CSV), a line
#                           "--", then `show servers state BACKEND`
#   state STATE SERVER...   STATE (ready, drain or maint) for each server
#   weight SERVER W ...     pairs: each server's weight (0-256)
#   drain SECONDS SERVER... drain each; then, until their sessions reach 0
#                           or SECONDS pass, "sessions SERVER N" whenever a
#                           count changes; then maint for each
#   ready SECONDS SERVER... ready each; then, until every one is UP or
#                           SECONDS pass, "status SERVER TEXT" whenever a
#                           status changes; exit EXIT_NOT_UP if one is not
# A refused command exits EXIT_BALANCER with HAProxy's answer.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"
[ $# -ge 3 ] || die "$EXIT_USAGE" "usage: balancer.sh SOCKET BACKEND ACTION [ARG...]"
socket=$1 backend=$2 action=$3
shift 3

# HAProxy's names: letters, digits, '-', '_', '.', ':'.
valid_name() {
  case $1 in '' | *[!A-Za-z0-9_.:-]*) return 1 ;; esac
}
valid_name "$backend" || die "$EXIT_USAGE" "balancer: '$backend' is not a HAProxy backend name"
[ -S "$socket" ] || die "$EXIT_BALANCER" "balancer: no runtime API socket at $socket"

# api LINE: sends one runtime API line, prints the answer.
if command -v socat >/dev/null 2>&1; then
  api() { printf '%s\n' "$1" | socat -t 10 - "UNIX-CONNECT:$socket"; }
elif command -v nc >/dev/null 2>&1; then
  api() { printf '%s\n' "$1" | nc -U "$socket"; }
else
  die "$EXIT_BALANCER" "balancer: neither socat nor nc is installed (apt-get install socat)"
fi

# command LINE: a command whose answer is empty when HAProxy accepts it.
command_ok() {
  co_answer=$(api "$1") || die "$EXIT_BALANCER" "balancer: cannot reach $socket"
  co_answer=$(printf '%s' "$co_answer" | tr -s '\n' ' ')
  case $co_answer in
    '' | ' ') return 0 ;;
  esac
  die "$EXIT_BALANCER" "balancer: '$1': ${co_answer% }"
}

# column NAME: prints "svname value" per server of the backend, from show stat.
column() {
  api "show stat $backend 4 -1" | awk -F, -v want="$1" '
    NR == 1 { for (i = 1; i <= NF; i++) { h = $i; sub(/^# /, "", h); if (h == want) c = i } next }
    c && $2 != "" { print $2 " " $c }'
}

servers_valid() {
  for s in "$@"; do
    valid_name "$s" || die "$EXIT_USAGE" "balancer: '$s' is not a HAProxy server name"
  done
}

set_state() {
  ss_state=$1
  shift
  for s in "$@"; do command_ok "set server $backend/$s state $ss_state"; done
}

# wait_for SECONDS KIND COLUMN TEST SERVER...: prints "KIND SERVER VALUE"
# first and whenever that value changes; succeeds once TEST (an awk condition on v) holds for
# every server, fails when SECONDS pass first.
wait_for() {
  wf_until=$(($(date +%s) + $1)) wf_kind=$2 wf_column=$3 wf_test=$4 wf_seen=''
  shift 4
  while :; do
    wf_now=$(column "$wf_column") || die "$EXIT_BALANCER" "balancer: cannot reach $socket"
    wf_report=$(printf '%s\n' "$wf_now" | awk -v names=" $* " -v kind="$wf_kind" '
      { name = $1; v = $0; sub(/^[^ ]* /, "", v) }
      index(names, " " name " ") { seen[name] = 1; print kind " " name " " v; if (!('"$wf_test"')) bad = 1 }
      END { n = split(names, want, " "); for (i = 1; i <= n; i++) if (!(want[i] in seen)) { print kind " " want[i] " absent"; bad = 1 }
            exit bad }')
    wf_done=$?
    # Only the lines that changed: one per server whose value moved.
    WF_SEEN=$wf_seen
    export WF_SEEN
    printf '%s\n' "$wf_report" | awk 'BEGIN { n = split(ENVIRON["WF_SEEN"], p, "\n"); for (i = 1; i <= n; i++) seen[p[i]] = 1 }
      !($0 in seen)'
    wf_seen=$wf_report
    [ "$wf_done" -eq 0 ] && return 0
    [ "$(date +%s)" -lt "$wf_until" ] || return 1
    sleep 0.2
  done
}

case $action in
  show)
    [ $# -eq 0 ] || die "$EXIT_USAGE" "usage: balancer.sh SOCKET BACKEND show"
    stat=$(api "show stat $backend 4 -1") || die "$EXIT_BALANCER" "balancer: cannot reach $socket"
    case $stat in
      '# pxname'*) ;;
      *) die "$EXIT_BALANCER" "balancer: no backend $backend: $(printf '%s' "$stat" | head -n 1)" ;;
    esac
    printf '%s\n--\n' "$stat"
    api "show servers state $backend"
    ;;
  state)
    [ $# -ge 2 ] || die "$EXIT_USAGE" "usage: balancer.sh SOCKET BACKEND state STATE SERVER..."
    case $1 in ready | drain | maint) ;; *) die "$EXIT_USAGE" "balancer: unknown state '$1'" ;; esac
    state=$1
    shift
    servers_valid "$@"
    set_state "$state" "$@"
    ;;
  weight)
    if [ $# -lt 2 ] || [ $(($# % 2)) -ne 0 ]; then
      die "$EXIT_USAGE" "usage: balancer.sh SOCKET BACKEND weight SERVER WEIGHT..."
    fi
    while [ $# -gt 0 ]; do
      servers_valid "$1"
      case $2 in '' | *[!0-9]*) die "$EXIT_USAGE" "balancer: weight '$2' is not a number" ;; esac
      [ "$2" -le 256 ] || die "$EXIT_USAGE" "balancer: weight $2 is above 256"
      command_ok "set weight $backend/$1 $2"
      shift 2
    done
    ;;
  drain | ready)
    [ $# -ge 2 ] || die "$EXIT_USAGE" "usage: balancer.sh SOCKET BACKEND $action SECONDS SERVER..."
    case $1 in '' | *[!0-9]*) die "$EXIT_USAGE" "balancer: '$1' is not a number of seconds" ;; esac
    seconds=$1
    shift
    servers_valid "$@"
    if [ "$action" = drain ]; then
      set_state drain "$@"
      # Out of time with sessions left: they are cut by the stop, as without a balancer.
      wait_for "$seconds" sessions scur 'v == 0' "$@" || true
      set_state maint "$@"
    else
      set_state ready "$@"
      wait_for "$seconds" status status 'v == "UP" || v == "no check"' "$@" ||
        die "$EXIT_NOT_UP" "balancer: not UP after ${seconds}s"
    fi
    ;;
  *) die "$EXIT_USAGE" "balancer: unknown action '$action'" ;;
esac
