#!/usr/bin/env bash
# A local fleet of real sshd servers on loopback, for tests, the demo and
# benchmarks.
#
#   scripts/fleet.sh start DIR [-n COUNT] [--net 127.0.2] [--port 2222] [--pairs] [--log-level LEVEL]
#   scripts/fleet.sh stop DIR
#   scripts/fleet.sh revive DIR NAME   (starts a killed host's sshd again)
#
# Host i listens on NET.i:PORT with its own ed25519 host key; a NET of two
# octets (127.60) holds more than 254 hosts: host i is 127.60.(i-1)/254.
# ((i-1)%254+1). As root, each
# host also gets a private /srv (DIR/hosts/hNN/srv bind-mounted in its own
# mount namespace), so deploys to /srv/... land on separate "machines".
# `start` writes DIR/inventory.yaml (Ansible format, with flotilla_pair
# groups when --pairs), DIR/known_hosts and DIR/client_key; `stop` kills every
# process of the fleet and is safe to call twice.
set -euo pipefail

usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

cmd=${1:-}; dir=${2:-}
if [ -z "$cmd" ] || [ -z "$dir" ]; then usage; fi
shift 2
revive=
if [ "$cmd" = revive ]; then revive=${1:-}; [ -n "$revive" ] || usage; shift; fi
count=4 net=127.0.2 port=2222 pairs=0 log_level=VERBOSE
while [ $# -gt 0 ]; do
  case $1 in
    -n) count=$2; shift 2 ;;
    --net) net=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --pairs) pairs=1; shift ;;
    --log-level) log_level=$2; shift 2 ;;
    *) usage ;;
  esac
done

SSHD=$(command -v sshd || echo /usr/sbin/sshd)

case $net in
  *.*.*) [ "$count" -le 254 ] || { echo "fleet: $net holds 254 hosts; for more, give two octets (--net 127.60)" >&2; exit 2; } ;;
esac
# Host i's address (i from 1).
address_of() {
  case $net in
    *.*.*) echo "$net.$1" ;;
    *) echo "$net.$((($1 - 1) / 254)).$((($1 - 1) % 254 + 1))" ;;
  esac
}

# Kills a process and all its descendants (per-connection sshd children too).
kill_tree() {
  local pid=$1 child
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do kill_tree "$child"; done
  kill -TERM "$pid" 2>/dev/null || true
}

stop_fleet() {
  local pidfile pid ns p own
  own=$(readlink /proc/self/ns/mnt)
  for pidfile in "$dir"/hosts/*/sshd.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    # A host with its own mount namespace owns every process in it: services
    # deployed there detach from sshd (setsid), so they go by namespace.
    ns=$(readlink "/proc/$pid/ns/mnt" 2>/dev/null || true)
    if [ -n "$ns" ] && [ "$ns" != "$own" ]; then
      for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ] && kill -KILL "${p#/proc/}" 2>/dev/null
      done
    fi
    kill_tree "$pid"
    rm -f "$pidfile"
  done
  return 0
}

# Starts one host's sshd from its sshd_config (as root: with its own /srv
# and ~/.flotilla, in a private mount namespace).
start_sshd() {
  local hdir=$1
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
    mkdir -p /srv
    # A private ~/.flotilla too: each host keeps its own deploy lock and
    # snapshot counter, as separate machines would, so fleets of parallel
    # test suites never share one.
    mkdir -p "$hdir/dot-flotilla" "$HOME/.flotilla"
    # A version manager's shims in the login shell (pyenv's, on the lab
    # machines) are per host as well: `pyenv rehash` at login takes a lock
    # file in the shims directory, and a session killed while holding it (a
    # host killed by a test, a fleet stopped) would make every login of every
    # fleet wait 60s for it. Each start begins from a fresh copy, as a reboot.
    local shims=$HOME/.pyenv/shims own_shims='' own_bashrc=''
    if [ -d "$shims" ]; then
      own_shims=$hdir/pyenv-shims
      rm -rf "$own_shims" && cp -a "$shims" "$own_shims" && rm -f "$own_shims/.pyenv-shim"
      # The host's own root .bashrc, which sshd's bash reads for every
      # command: the shims first on PATH, as `pyenv init` leaves them, so
      # `python3` there is still a shim that forks through `pyenv exec`.
      # Not the controller's .bashrc, whose `pyenv init` and
      # `virtualenv-init` cost ~1.2 s of CPU per login: a suite's thousands
      # of logins on 2 cores would measure this machine's rc files, not
      # flotilla.
      own_bashrc=$hdir/bashrc
      printf '%s\n' "# root's login shell on a test host (scripts/fleet.sh)" \
        "export PYENV_ROOT=$HOME/.pyenv" \
        "export PATH=$shims:$HOME/.pyenv/bin:\$PATH" >"$own_bashrc"
    fi
    # shellcheck disable=SC2016 # $1..$9 belong to the started shell
    unshare -m --propagation private sh -c \
      'mount --bind "$1" /srv && mount --bind "$5" "$HOME/.flotilla" &&
       { [ -z "$6" ] || mount --bind "$6" "$7"; } &&
       { [ -z "$8" ] || [ ! -f "$HOME/.bashrc" ] || mount --bind "$8" "$HOME/.bashrc"; } &&
       exec "$2" -f "$3" -E "$4"' \
      sh "$hdir/srv" "$SSHD" "$hdir/sshd_config" "$hdir/sshd.log" "$hdir/dot-flotilla" "$own_shims" "$shims" \
      "$own_bashrc"
  else
    "$SSHD" -f "$hdir/sshd_config" -E "$hdir/sshd.log"
  fi
}

start_fleet() {
  mkdir -p "$dir/hosts"
  dir=$(cd "$dir" && pwd)
  [ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || true
  [ -f "$dir/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C flotilla-fleet -f "$dir/client_key"
  cp "$dir/client_key.pub" "$dir/authorized_keys"
  chmod 600 "$dir/authorized_keys"
  : > "$dir/known_hosts"
  local user; user=$(id -un)

  {
    echo "# written by scripts/fleet.sh: $count sshd hosts on $(address_of 1)-$(address_of "$count"):$port"
    echo "all:"
    echo "  vars:"
    echo "    ansible_port: $port"
    echo "    ansible_user: $user"
    echo "    ansible_ssh_private_key_file: $dir/client_key"
    echo "  children:"
    echo "    fleet:"
    echo "      hosts:"
  } > "$dir/inventory.yaml"

  local i name addr hdir
  for i in $(seq 1 "$count"); do
    name=$(printf 'h%02d' "$i")
    addr=$(address_of "$i")
    hdir="$dir/hosts/$name"
    mkdir -p "$hdir/srv"
    [ -f "$hdir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$hdir/host_key"
    cat > "$hdir/sshd_config" <<EOF
ListenAddress $addr:$port
HostKey $hdir/host_key
AuthorizedKeysFile $dir/authorized_keys
PidFile $hdir/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
MaxStartups 1000
MaxSessions 100
LogLevel $log_level
EOF
    start_sshd "$hdir"
    if [ $pairs = 1 ]; then
      # Hosts (1,2), (3,4), ... form redundant pairs.
      printf '        %s: {ansible_host: %s, flotilla_pair: pair%02d}\n' "$name" "$addr" $(((i + 1) / 2)) >> "$dir/inventory.yaml"
    else
      echo "        $name: {ansible_host: $addr}" >> "$dir/inventory.yaml"
    fi
    printf '[%s]:%s %s\n' "$addr" "$port" "$(cut -d' ' -f1,2 "$hdir/host_key.pub")" >> "$dir/known_hosts"
  done

  # Wait until every host answers on its port.
  local deadline=$((SECONDS + 20 + count / 10))
  for i in $(seq 1 "$count"); do
    addr=$(address_of "$i")
    until (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null; do
      [ $SECONDS -lt $deadline ] || { echo "fleet: $addr:$port did not start" >&2; stop_fleet; exit 1; }
      sleep 0.05
    done
  done
  echo "fleet: $count hosts up ($(address_of 1)-$(address_of "$count"):$port); inventory: $dir/inventory.yaml"
}

case $cmd in
  start) stop_fleet 2>/dev/null || true; start_fleet ;;
  revive) start_sshd "$dir/hosts/$revive" ;;
  stop) stop_fleet ;;
  *) usage ;;
esac
