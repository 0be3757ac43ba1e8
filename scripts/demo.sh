#!/usr/bin/env bash
# The main job on a local fleet: installs what is missing, builds flotilla,
# starts 6 real sshd hosts on loopback (three redundant pairs), and runs
# flotilla against them as an operator would. Cleans up after itself.
#
#   ./scripts/demo.sh          (as root, each host also gets a private /srv)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build >/dev/null
export PATH="$root/build/cli:$PATH"

work=$(mktemp -d /tmp/flotilla-demo-XXXXXX)
cleanup() { "$root/scripts/fleet.sh" stop "$work/fleet" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT INT TERM

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
show() { printf '\n%s$' "$bold"; printf ' %q' "$@"; printf '%s\n' "$plain"; }
step() { show "$@"; "$@"; }
expect_fail() {  # runs a command that must fail, and shows its exit code
  show "$@"
  set +e; "$@"; local rc=$?; set -e
  echo "(exit code $rc)"
}

"$root/scripts/fleet.sh" start "$work/fleet" -n 6 --net 127.0.1 --pairs
cd "$work"
mkdir -p inventories
cp fleet/inventory.yaml inventories/dev.yaml
# A small game-backend repository with the studio's branches.
git_in() { git -C "$work/backend" -c user.name=demo -c user.email=demo@example.com "$@" >/dev/null; }
mkdir -p backend
printf 'all:\n\tmkdir -p dist && cp VERSION server.py dist/\n' > backend/Makefile
cat > backend/server.py <<'PY'
# The demo's reward service: serves its VERSION over HTTP until SIGTERM.
import http.server, os, sys
os.chdir(os.path.dirname(os.path.abspath(__file__)))
http.server.ThreadingHTTPServer((sys.argv[1], 8080), http.server.SimpleHTTPRequestHandler).serve_forever()
PY
echo "reward 1.0" > backend/VERSION
git_in init -q -b master; git_in add -A; git_in commit -qm "reward 1.0"
git_in branch stable; git_in checkout -qb release/1.1
echo "reward 1.1" > backend/VERSION; git_in commit -qam "reward 1.1"; git_in checkout -q master
git_in merge -q release/1.1

cat > flotilla.yaml <<YAML
project: dragon-realm
ssh: {known_hosts: fleet/known_hosts, connect_timeout: 5s, forks: 50, config: none}
environments:
  dev: {inventory: inventories/dev.yaml, branches: ["*"]}
  prod: {inventory: inventories/dev.yaml, branches: [master, stable], require_ticket: true}
units:
  reward:
    kind: reward
    hosts: fleet
    source: {repo: backend, build: make, output: dist}
    run: exec python3 server.py {{ansible_host}}
    health: {command: "python3 -c \"import sys,urllib.request as u; u.urlopen('http://'+sys.argv[1]+':8080/VERSION', timeout=1)\" {{ansible_host}}", timeout: 2s, retries: 20, interval: 200ms}
    drain: {timeout: 5s}
    logs: [shared/log/*.log]
    rollout: {canary: 1, batch: 50%, max_unavailable: 2}
YAML

echo "== project in $work; fleet of 6 sshd hosts on 127.0.1.1-6:2222"
step flotilla inventory check
step flotilla -e dev inventory list
step flotilla -e dev --json -l 'h01' inventory list
step flotilla -e dev exec -- 'echo "$(id -un)@$(echo $SSH_CONNECTION | cut -d" " -f3): $(uptime -p)"'
step flotilla -e dev -l 'h01:h02' exec -- printf '[%s]\n' 'quotes '"'"' stay' '$(not run)' '--literal'
expect_fail flotilla -e dev -l h01 exec -- sh -c 'exit 3'
expect_fail flotilla -e dev -l nosuchgroup inventory list
printf 'units:\n  reward: {kind: rewrad}\n' > broken.yaml
expect_fail flotilla -f broken.yaml inventory check

if [ "$(id -u)" = 0 ]; then
  echo; echo "== builds, plans and rolling deploys (each host has its own /srv)"
  step flotilla -e dev build reward --ref release/1.1
  expect_fail flotilla -e prod build reward --ref release/1.1 --ticket OPS-1
  step flotilla -e prod plan reward --ref master --ticket OPS-1
  step flotilla -e prod deploy reward --ref master --ticket OPS-1
  echo "reward 1.2" > backend/VERSION; git_in commit -qam "reward 1.2"
  step flotilla -e prod deploy reward --ref master --ticket OPS-2
  step flotilla -e prod exec -- 'cat /srv/reward/current/VERSION'
  step flotilla -e prod rollback reward                 # 1.2 -> 1.1: no build, no transfer
  step flotilla -e prod exec -- 'cat /srv/reward/current/VERSION'
  printf 'all:\n\tmkdir -p dist && cp VERSION dist/\n' > backend/Makefile  # forgets the server
  git_in commit -qam "broken build"
  expect_fail flotilla -e prod deploy reward --ref master --ticket OPS-3
  step flotilla -e prod exec -- 'cat /srv/reward/current/VERSION'
  step flotilla -e prod status reward
  step flotilla -e prod history
  step flotilla -e prod lock status
  step flotilla -e prod logs reward -n 2
  flotilla -e prod -q exec -- "pkill -f 'server[.]py' || true" >/dev/null
else
  echo; echo "(run as root to see builds deployed: each test host then gets its own /srv)"
fi

echo
echo "== done: validation, inventory, parallel exec over libssh2, builds from git with branch"
echo "   policy, plans, rolling deploys with a canary that rolled itself back, a rollback from"
echo "   snapshots, status and history, the deploy lock;"
echo "   exit codes 0 ok, 1 failed (fleet consistent), 2 bad input, 3 locked, 4 unreachable"
