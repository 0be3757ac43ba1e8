# shellcheck shell=sh disable=SC2034
# Shared by every host script: embedded in front of each one at build time
# (the line that sources it is replaced by this file).

# Exit codes between host scripts and the controller: the one table. The
# build generates host_scripts/exit_codes.hpp from these lines.
EXIT_USAGE=64         # the script was called wrongly or its input is malformed
EXIT_CORRUPT=65       # bytes that arrived do not match their digest
EXIT_MISSING=66       # a release, config or secrets version is not on the host
EXIT_NO_DIR=67        # the unit's deploy_to cannot be entered
EXIT_HEALTH=70        # the health check failed
EXIT_HOOK=71          # a unit hook failed
EXIT_START=72         # the start command failed
EXIT_CONFIG_CHECK=73  # the unit's config check refused the new config
EXIT_RELOAD=74        # the reload failed
EXIT_SWITCH=75        # a symlink could not be switched
EXIT_LOCK_HELD=76     # the deploy lock is held
EXIT_NOT_HOLDER=77    # the deploy lock is someone else's
EXIT_NO_LOGS=78       # no log file matches the unit's globs
EXIT_FETCH=79         # a blob could not be fetched from the registry
EXIT_RESTORE=80       # the unit's restore command failed
EXIT_STOP=81          # a process of the unit outlived its stop
EXIT_NOT_RUNNING=82   # the started process is not running after its start
EXIT_BALANCER=83      # the balancer cannot be reached or refused a command
EXIT_NOT_UP=84        # a server is not UP on the balancer in time
EXIT_NOT_WAITING=85   # no rollout waits for that decision (resume, abort, end-watch)

# die CODE MESSAGE: one line on stderr, then exit CODE.
die() {
  printf '%s\n' "$2" >&2
  exit "$1"
}

# alive PID: succeeds while the process runs. Unlike `kill -0`, a zombie
# (exited, not yet reaped: a host whose init does not reap) is dead.
# Read from /proc with the shell's own `read` where there is one: a host
# runs this for every check, and a process per check is what costs.
alive() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  if [ -d /proc/self ]; then
    al_stat=''
    { read -r al_stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    # shellcheck disable=SC2086 # fields after the command name, split on purpose
    set -- ${al_stat##*) }
    case ${1:-} in '' | Z* | X*) return 1 ;; esac
    return 0
  fi
  case $(ps -o stat= -p "$1" 2>/dev/null) in
    '' | Z*) return 1 ;;
  esac
}

# proc_start PID: what identifies a process beyond its pid, which the
# kernel reuses: the boot it runs in and its start time (clock ticks since
# boot, /proc/PID/stat field 22). Fails when there is no such process.
proc_start() {
  case $1 in '' | *[!0-9]*) return 1 ;; esac
  ps_stat='' ps_boot=''
  { read -r ps_stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  { read -r ps_boot </proc/sys/kernel/random/boot_id; } 2>/dev/null
  # shellcheck disable=SC2086 # fields after the command name, split on purpose
  set -- ${ps_stat##*) }
  printf '%s %s\n' "$ps_boot" "${20}"
}

# supervised_pid DEPLOY_TO: the pid of the unit's supervised process, only
# while it is still that process: alive, with the start recorded when
# flotilla started it (a process started before that was recorded: running
# in one of the unit's releases). Prints nothing otherwise, so a pid file
# that outlived its process (a reboot, a crash) never gets another process
# signalled.
supervised_pid() {
  [ -f "$1/.flotilla/pid" ] || return 1
  sp_pid='' sp_start=''
  { read -r sp_pid <"$1/.flotilla/pid"; } 2>/dev/null
  case $sp_pid in '' | *[!0-9]*) return 1 ;; esac
  alive "$sp_pid" || return 1
  if [ -f "$1/.flotilla/pid.start" ]; then
    { read -r sp_start <"$1/.flotilla/pid.start"; } 2>/dev/null
    [ "$(proc_start "$sp_pid")" = "$sp_start" ] || return 1
  else
    sp_releases=$(cd "$1/releases" 2>/dev/null && pwd -P) || return 1
    case $(readlink "/proc/$sp_pid/cwd" 2>/dev/null) in
      "$sp_releases"/*) ;;
      *) return 1 ;;
    esac
  fi
  printf '%s\n' "$sp_pid"
}

# section NAME: one line of a host's answer, "NAME BASE64", the content
# read from stdin. Nothing a host's files hold can forge a boundary.
section() {
  printf '%s ' "$1"
  base64 -w0
  echo
}

# hash_files FILE...: one "SHA256 NAME" line per file, in order;
# hash_listed: the same for NUL-separated names on stdin. OpenSSL uses the
# CPU's SHA extensions, about 5x faster than coreutils' sha256sum; hosts
# without the openssl tool use sha256sum.
if command -v openssl >/dev/null 2>&1; then
  hash_files() { openssl dgst -sha256 -r "$@"; }
  hash_listed() { xargs -0 -r openssl dgst -sha256 -r; }
else
  hash_files() { sha256sum -- "$@"; }
  hash_listed() { xargs -0 -r sha256sum --; }
fi

# probe DIR SECONDS COMMAND: runs a health command once, in DIR, bounded.
# It runs as FLOTILLA_STEP=probe: a probe from another controller's
# `status` has its cwd in a release for a moment, and is not the unit's.
probe() {
  (cd "$1" && FLOTILLA_STEP=probe timeout "$2" sh -c "$3" 2>&1 </dev/null)
}

# now_ms: milliseconds since the epoch (GNU date; whole seconds elsewhere).
now_ms() {
  nm_t=$(date +%s%3N)
  case $nm_t in
    *N) echo $(($(date +%s) * 1000)) ;;
    *) echo "$nm_t" ;;
  esac
}

# phase NAME: the controller's live view reads these lines from stdout.
phase() {
  printf '@flotilla:phase %s\n' "$1"
}

# each_log_file ACTION GLOB...: runs "ACTION FILE" for every regular file
# the unit's log GLOBs (relative to the current directory, expanded here)
# match; EXIT_NO_LOGS when none does.
each_log_file() {
  elf_action=$1
  shift
  elf_found=0
  for elf_glob in "$@"; do
    # Unquoted on purpose: the glob is expanded here, on the host.
    for elf_file in $elf_glob; do
      [ -f "$elf_file" ] || continue
      elf_found=1
      "$elf_action" "$elf_file"
    done
  done
  [ $elf_found = 1 ] || die "$EXIT_NO_LOGS" "no log files match $*"
}
