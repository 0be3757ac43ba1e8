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

# die CODE MESSAGE: one line on stderr, then exit CODE.
die() {
  printf '%s\n' "$2" >&2
  exit "$1"
}

# alive PID: succeeds while the process runs. Unlike `kill -0`, a zombie
# (exited, not yet reaped: a host whose init does not reap) is dead.
alive() {
  case $(ps -o stat= -p "$1" 2>/dev/null) in
    '' | Z*) return 1 ;;
  esac
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
probe() {
  (cd "$1" && timeout "$2" sh -c "$3" 2>&1 </dev/null)
}

# phase NAME: the controller's live view reads these lines from stdout.
phase() {
  printf '@flotilla:phase %s\n' "$1"
}
