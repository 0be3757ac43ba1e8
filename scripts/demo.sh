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
cat > flotilla.yaml <<YAML
project: dragon-realm
ssh: {known_hosts: fleet/known_hosts, connect_timeout: 5s, forks: 50}
environments:
  dev: {inventory: inventories/dev.yaml, branches: ["*"]}
units:
  reward:
    kind: reward
    hosts: fleet
    run: bin/reward --port 8080
    logs: [shared/log/*.log]
    rollout: {canary: 1, batch: 50%, max_unavailable: 1}
YAML

echo "== project in $work; fleet of 6 sshd hosts on 127.0.1.1-6:2222"
step flotilla inventory check
step flotilla -e dev inventory list
step flotilla -e dev --json -l 'h01' inventory list
step flotilla -e dev exec -- 'echo "$(id -un)@$(echo $SSH_CONNECTION | cut -d" " -f3): $(uptime -p)"'
step flotilla -e dev -l 'fleet:!h06' exec --stream -- sh -c 'mkdir -p /srv/reward/shared/log && echo "ERROR payment timeout" > /srv/reward/shared/log/reward.log && echo written'
step flotilla -e dev -l 'fleet:!h06' logs reward --grep ERROR
step flotilla -e dev -l 'h01:h02' exec -- printf '[%s]\n' 'quotes '"'"' stay' '$(not run)' '--literal'
expect_fail flotilla -e dev -l h01 exec -- sh -c 'exit 3'
expect_fail flotilla -e dev -l nosuchgroup inventory list
printf 'units:\n  reward: {kind: rewrad}\n' > broken.yaml
expect_fail flotilla -f broken.yaml inventory check

echo
echo "== done: inventory, validation, parallel exec over libssh2, exit codes (0 ok, 1 failed, 2 bad input, 4 unreachable)"
