#!/usr/bin/env bash
# The floor: what a careful engineer writes by hand with plain OpenSSH for
# the job bench/deploy_bench.py gives flotilla — push a build to every host
# and restart them in rolling batches behind a health check. Flotilla must
# not be slower than this.
#
#   bench/floor.sh FLEET_DIR BUILD_DIR RELEASE [BATCH_PERCENT] [PORT]
#
# 1. ControlMaster connections to every host, opened all at once.
# 2. One tar stream per host, in parallel, with a SHA256SUMS the host checks.
#    BUILD_DIR "-" skips this: RELEASE is on the hosts already (a rollback's
#    floor: connect, then the batches).
# 3. Batches of BATCH_PERCENT (default 25): stop the old server's whole
#    process group and wait until it is gone, switch the `current` symlink,
#    start the new one (the bench's server.py, without exec, as flotilla's
#    unit), curl until it answers, and check the started one still runs
#    (else the answer came from someone else).
# Values are expanded here on purpose: they are this script's own.
# shellcheck disable=SC2029
set -euo pipefail
fleet=$1 build=$2 release=$3 percent=${4:-25} port=${5:-8082}
mapfile -t hosts < <(sed -n 's/.*ansible_host: \([0-9.]*\).*/\1/p' "$fleet/inventory.yaml")
control=$(mktemp -d)
trap 'for h in "${hosts[@]}"; do ssh "${ssh[@]}" -O exit "$h" 2>/dev/null || true; done; rm -rf "$control"' EXIT
ssh=(-o BatchMode=yes -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$fleet/known_hosts"
  -o ControlMaster=auto -o "ControlPath=$control/%h" -o ControlPersist=120
  -i "$fleet/client_key" -p 2222 -l "$(id -un)")
dir=/srv/floor-bench
pids=()
# Every background job of a step must succeed.
wait_all() {
  local pid failed=0
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  pids=()
  [ $failed = 0 ] || { echo "floor: a host failed" >&2; exit 1; }
}

for h in "${hosts[@]}"; do
  ssh "${ssh[@]}" "$h" true &
  pids+=($!)
done
wait_all

if [ "$build" != - ]; then
  sums=$(mktemp)
  (cd "$build" && find . -type f ! -name SHA256SUMS -print0 | xargs -0 sha256sum) > "$sums"
  mv "$sums" "$build/SHA256SUMS"
  for h in "${hosts[@]}"; do
    tar -C "$build" -cf - . | ssh "${ssh[@]}" "$h" \
      "mkdir -p $dir/releases/$release && tar -xf - -C $dir/releases/$release && cd $dir/releases/$release && sha256sum -c --quiet SHA256SUMS" &
    pids+=($!)
  done
  wait_all
fi

n=${#hosts[@]}
size=$(((n * percent + 99) / 100))
for ((start = 0; start < n; start += size)); do
  for h in "${hosts[@]:start:size}"; do
    ssh "${ssh[@]}" "$h" "
      if [ -f $dir/pid ]; then
        p=\$(cat $dir/pid)
        kill -TERM -- -\$p 2>/dev/null
        while kill -0 -- -\$p 2>/dev/null; do sleep 0.01; done
      fi
      ln -sfn $dir/releases/$release $dir/current.next && mv -Tf $dir/current.next $dir/current
      cd $dir/current && setsid -f sh -c 'echo \$\$ > $dir/pid; python3 server.py $h $port' >/dev/null 2>&1 </dev/null
      for i in \$(seq 200); do
        if curl -fsS -o /dev/null http://$h:$port/ 2>/dev/null; then kill -0 \$(cat $dir/pid) && exit 0; exit 1; fi
        sleep 0.05
      done
      exit 1" &
    pids+=($!)
  done
  wait_all
done
