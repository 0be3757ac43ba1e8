#!/bin/sh
# doctor.sh [--lock] [--tool NAME]... [--dir PATH]... [--socket PATH]...
# What a deploy will need from this host, read without changing it: one line
# per finding, each naming only what the controller asked for (by its index
# for a directory), so nothing the host says is taken as a name:
#   time SECONDS            this host's clock (date +%s.%N)
#   tool NAME ok|missing    each --tool; NAME "hash" is sha256sum or openssl
#   dir I STATE FREE_KB RELEASE_KB
#                           the I-th --dir (deploy_to): STATE is ok,
#                           not-writable or not-a-directory; FREE_KB is free
#                           space where it is (or would be created),
#                           RELEASE_KB the size of its current release (0: none)
#   lock ok|not-writable    with --lock: ~/.flotilla, where the lock is kept
#   socket I STATE          the I-th --socket (a balancer's runtime API): ok,
#                           missing, not-a-socket, or no-client (neither
#                           socat nor nc to talk to it)
# Writability is tried, not guessed from modes (root on a read-only mount):
# a temporary file is made and removed at once.
# shellcheck source=lib.sh
. "${0%/*}/lib.sh"

# can_write DIR: succeeds when a file can be created in DIR.
can_write() {
  cw_file=$(mktemp "$1/.flotilla-doctor.XXXXXX" 2>/dev/null) || return 1
  rm -f "$cw_file"
}

# nearest_existing PATH: PATH, or the closest ancestor of it that exists.
nearest_existing() {
  ne_path=$1
  while [ ! -e "$ne_path" ] && [ "$ne_path" != / ]; do
    ne_next=${ne_path%/*}
    [ "$ne_next" != "$ne_path" ] || break  # relative, not found: itself
    ne_path=${ne_next:-/}
  done
  printf '%s\n' "$ne_path"
}

# free_kb DIR: kilobytes free for an unprivileged writer on DIR's file system.
free_kb() {
  df -Pk "$1" 2>/dev/null | awk 'NR == 2 { print $4 + 0 }'
}

check_dir() {
  cd_index=$1 cd_path=$2
  cd_where=$(nearest_existing "$cd_path")
  cd_free=$(free_kb "$cd_where")
  cd_release=0
  if [ -d "$cd_path/current/" ]; then
    cd_release=$(du -sk "$cd_path/current/" 2>/dev/null | cut -f1)
  fi
  if [ "$cd_where" = "$cd_path" ] && [ ! -d "$cd_path" ]; then
    cd_state=not-a-directory
  elif can_write "$cd_where"; then
    cd_state=ok
  else
    cd_state=not-writable
  fi
  printf 'dir %s %s %s %s\n' "$cd_index" "$cd_state" "${cd_free:-0}" "${cd_release:-0}"
}

check_tool() {
  if [ "$1" = hash ]; then
    if command -v sha256sum >/dev/null 2>&1 || command -v openssl >/dev/null 2>&1; then
      echo "tool hash ok"
    else
      echo "tool hash missing"
    fi
  elif command -v "$1" >/dev/null 2>&1; then
    printf 'tool %s ok\n' "$1"
  else
    printf 'tool %s missing\n' "$1"
  fi
}

check_socket() {
  if [ -S "$2" ]; then
    if command -v socat >/dev/null 2>&1 || command -v nc >/dev/null 2>&1; then
      cs_state=ok
    else
      cs_state=no-client
    fi
  elif [ -e "$2" ]; then
    cs_state=not-a-socket
  else
    cs_state=missing
  fi
  printf 'socket %s %s\n' "$1" "$cs_state"
}

printf 'time %s\n' "$(date +%s.%N)"
dir_index=0 socket_index=0
while [ $# -gt 0 ]; do
  case $1 in
    --lock)
      mkdir_parent=$(nearest_existing "$HOME/.flotilla")
      if can_write "$mkdir_parent"; then echo "lock ok"; else echo "lock not-writable"; fi
      shift ;;
    --tool)
      [ $# -ge 2 ] || die "$EXIT_USAGE" "doctor.sh: --tool needs a name"
      check_tool "$2"
      shift 2 ;;
    --dir)
      [ $# -ge 2 ] || die "$EXIT_USAGE" "doctor.sh: --dir needs a path"
      check_dir "$dir_index" "$2"
      dir_index=$((dir_index + 1))
      shift 2 ;;
    --socket)
      [ $# -ge 2 ] || die "$EXIT_USAGE" "doctor.sh: --socket needs a path"
      check_socket "$socket_index" "$2"
      socket_index=$((socket_index + 1))
      shift 2 ;;
    *) die "$EXIT_USAGE" "usage: doctor.sh [--lock] [--tool NAME]... [--dir PATH]... [--socket PATH]..." ;;
  esac
done
exit 0
