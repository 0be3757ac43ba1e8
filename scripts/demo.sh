#!/usr/bin/env bash
# The main job: launch night for a game, on a local fleet, as an operator
# would type it. Installs what is missing, builds flotilla, starts 9 real sshd
# hosts on loopback (dev: 1, int: 1 pair, prod: 3 pairs, and prod's HAProxy
# host in front of payment), creates the studio's
# game-backend repository (feature/*, release/*, master, stable), and then:
#
#   1. deploys release/1.0 of reward, payment, gm and the game server to int
#      as one release; then master of the game server, while a player is on
#      one of them: it waits for the player, who hears it from the GM;
#   2. launches prod: rehearsed on int, then promoted (the same artifacts);
#   3. rehearses the master upgrade on int from prod's exact state, then
#      promotes it to prod in rolling batches while a load generator keeps
#      buying through HAProxy: each payment host leaves the rotation before it
#      restarts (lost/doubled and requests that had to wait: printed);
#   4. pushes a GM event live (no restart);
#   5. a release whose reward build fails its canary: the units it had
#      changed go back, and prod refuses the unrehearsed change;
#   6. hotfixes from stable;
#   7. rolls back to a snapshot;
#   8. shows status, the error patrol across the fleet, and history;
#   9. restores reward's grant journal from a verified backup after it is
#      lost: nobody is rewarded twice;
#  10. a gm build that answers players with errors while its health check
#      passes: Prometheus (Debian's) scrapes int's gm, the canary's analysis
#      fails, and it goes back before the other host is touched.
#
#   ./scripts/demo.sh      (as root; a user with sudo is asked for it: each
#                           host gets a private /srv)
# Cleans up after itself; exits non-zero if any step does not do what it says.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null; then
    exec sudo "$0" "$@"
  fi
  echo "demo.sh: run as root (each test host needs its own /srv)" >&2
  exit 2
fi
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --target flotilla >/dev/null
export PATH="$root/build/cli:$PATH"

work=$(mktemp -d /tmp/flotilla-demo-XXXXXX)
load_pid='' haproxy_pid='' prometheus_pid='' players_pid=''
cleanup() {
  [ -z "$load_pid" ] || kill "$load_pid" 2>/dev/null || true
  [ -z "$players_pid" ] || kill "$players_pid" 2>/dev/null || true
  [ -z "$prometheus_pid" ] || kill "$prometheus_pid" 2>/dev/null || true
  [ -z "$haproxy_pid" ] || kill "$haproxy_pid" 2>/dev/null || true
  "$root/scripts/fleet.sh" stop "$work/fleet" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true)
chapter() { printf '\n%s== %s%s\n' "$bold" "$*" "$plain"; }
show() { printf '\n%s$' "$bold"; printf ' %q' "$@"; printf '%s\n' "$plain"; }
step() { show "$@"; "$@"; }
expect_fail() {  # a command that must fail; shows its exit code
  show "$@"
  set +e; "$@"; local rc=$?; set -e
  echo "(exit code $rc, as expected)"
  [ "$rc" != 0 ] || { echo "demo.sh: that should have failed" >&2; exit 1; }
}

# --- The machines: 11 sshd hosts, 127.0.1.1-11 -------------------------------
"$root/scripts/fleet.sh" start "$work/fleet" -n 11 --net 127.0.1
cp -r examples/launch "$work/project"
# prod's L7 switch: HAProxy on 127.0.1.100:8102 in front of the six payment
# servers, its runtime API socket on prod-lb (127.0.1.10), which flotilla
# reaches over SSH like any host. int has no balancer: its restarts are not
# switched, and flotilla says so.
cat > "$work/haproxy.cfg" <<EOF
global
    stats socket $work/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend payment
    bind 127.0.1.100:8102
    default_backend payment_http
backend payment_http
    balance roundrobin
    option httpchk GET /health
    default-server check inter 500ms fall 2 rise 1
$(for i in 1 2 3 4 5 6; do echo "    server prod-gs$i 127.0.1.$((i + 3)):8102"; done)
EOF
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
haproxy_pid=$!
cat >> "$work/project/inventories/prod.yaml" <<EOF
    lb:
      hosts:
        prod-lb: {ansible_host: 127.0.1.10}
EOF
python3 - "$work/project/flotilla.yaml" "$work/haproxy.sock" <<'PY'
import sys
path, socket = sys.argv[1:]
text = open(path).read()
unit = "  payment:\n    kind: payment\n"
assert unit in text
text = text.replace(unit, unit + "    balancer: {type: haproxy, hosts: lb, socket: %s, backend: payment_http, drain: 30s}\n" % socket)
open(path, "w").write(text)
PY
cat > "$work/project/ssh_config" <<EOF
Host 127.0.1.*
  Port 2222
  User $(id -un)
  IdentityFile $work/fleet/client_key
EOF
cp "$work/fleet/known_hosts" "$work/project/known_hosts"
# A demo has no quarter of an hour to spare: the game servers' notices come
# at 20 and 10 seconds before a 30-second deadline, not minutes.
sed -i 's/notices: \[10m, 5m, 1m\]/notices: [20s, 10s]/; s/deadline: 15m/deadline: 30s/' \
  "$work/project/flotilla.yaml"
# The payment service's store keys: two from the environment, one from a file.
PAY_APPLE_KEY="apple-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PAY_GOOGLE_KEY="google-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export PAY_APPLE_KEY PAY_GOOGLE_KEY
mkdir -p "$work/project/secrets"
(umask 077; echo "steam-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" > "$work/project/secrets/steam.key")

# --- The studio's game-backend repository ------------------------------------
backend="$work/backend"
mkdir -p "$backend"
cp -r examples/game-backend/. "$backend/"
rm -rf "$backend/build" "$backend/dist"
git_in() { git -C "$backend" -c user.name=studio -c user.email=dev@studio.example "$@" >/dev/null; }
git_in init -q -b master
git_in add -A; git_in commit -qm "game backend 1.0"
git_in branch stable; git_in branch release/1.0
git_in checkout -qb feature/double-gems
echo "1.1-double-gems" > "$backend/VERSION"; git_in commit -qam "double gems experiment"
git_in checkout -q master
echo "1.1" > "$backend/VERSION"; git_in commit -qam "game backend 1.1"

cd "$work/project"
echo "project: $work/project (examples/launch), backend: $backend"

chapter "The fleet and the project"
step flotilla inventory check
step flotilla -e prod inventory list
# shellcheck disable=SC2016 # expanded on each host, not here
step flotilla -e prod exec -- 'echo "$(id -un) on $(echo $SSH_CONNECTION | cut -d" " -f3)"'

chapter "1. release/1.0 to int: four units, one release"
step flotilla -e int deploy --all --ref release/1.0 --ticket REL-100
step curl -fsS http://127.0.1.2:8102/version
expect_fail flotilla -e prod deploy reward --ref feature/double-gems --ticket REL-100

chapter "1b. A game server with a player waits for them"
# ann joins int-gs1 and stays until the GM tells her the server restarts.
curl -sN 'http://127.0.1.2:8104/play?player=ann' >/dev/null &
player_pid=$!
sleep 0.5
step curl -fsS http://127.0.1.2:8104/players
(until curl -fsS http://127.0.1.2:8103/announcements 2>/dev/null | grep -q restart-int-gs1; do
  sleep 0.5
done
echo "(ann reads the announcement and leaves)"; kill "$player_pid") &
watcher_pid=$!
step flotilla -e int deploy game --ref master --ticket REL-100
step curl -fsS http://127.0.1.2:8103/announcements
wait "$watcher_pid"                # (not `wait`: HAProxy runs in the background too)
wait "$player_pid" 2>/dev/null || true

chapter "2. Launch prod: rehearsed on int, then the very same artifacts promoted"
expect_fail flotilla -e prod promote --all --from int --ticket REL-101   # not rehearsed yet
step flotilla -e int rehearse --all --like prod --ref release/1.0 --ticket REL-101
step flotilla -e prod promote --all --from int --ticket REL-101
step curl -fsS -d '' 'http://127.0.1.4:8101/login?player=ann'   # her launch-week gems
echo

chapter "3. Rehearse the master upgrade on int, promote it to prod under payment load"
step flotilla -e prod build payment --ref master          # built ahead of time: no ticket
step flotilla -e int rehearse --all --like prod --ref master --ticket REL-102
step flotilla -e prod plan --all --from int --ticket REL-102
prod_hosts=127.0.1.4,127.0.1.5,127.0.1.6,127.0.1.7,127.0.1.8,127.0.1.9
show python3 examples/launch/loadgen.py "$prod_hosts" --via 127.0.1.100:8102 '&'
python3 "$root/examples/launch/loadgen.py" "$prod_hosts" --via 127.0.1.100:8102 > "$work/load.out" 2>&1 &
load_pid=$!
sleep 2
step flotilla -e prod promote --all --from int --ticket REL-102
sleep 1
# shellcheck disable=SC2016 # shown to the reader as typed
show kill -TERM '$loadgen'
kill -TERM "$load_pid"
set +e; wait "$load_pid"; load_rc=$?; set -e
load_pid=
cat "$work/load.out"
[ "$load_rc" = 0 ] || { echo "demo.sh: purchases were lost or doubled" >&2; exit 1; }
load_summary=$(tail -n 1 "$work/load.out")
waited=$(sed -n 's/.*; \([0-9]*\) waited out a restart.*/\1/p' "$work/load.out")
echo "purchases that met a restarting server through HAProxy: $waited"
[ "$waited" = 0 ] || { echo "demo.sh: players saw a restart through the balancer" >&2; exit 1; }
step flotilla -e prod -l game exec -- "cat /srv/payment/shared/secrets/APPLE_KEY"   # redacted
step flotilla -e prod history --ticket REL-102

chapter "4. Push a GM event live (no restart)"
gm_pid() { curl -fsS http://127.0.1.4:8103/version | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])'; }
pid_before=$(gm_pid)
python3 - <<'PY'
import datetime, json
path = "config/gm/events.json"
doc = json.load(open(path))
now = datetime.datetime.now(datetime.timezone.utc)
doc["events"].append({"id": "double-xp", "title": "Double XP weekend",
                      "starts": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "ends": (now + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "announce": "Double XP is live for 48 hours!"})
json.dump(doc, open(path, "w"), indent=2)
PY
step flotilla -e prod config push gm --ticket EV-7
step curl -fsS http://127.0.1.4:8103/events/active
pid_after=$(gm_pid)
echo "gm pid on prod-gs1: $pid_before before the push, $pid_after after"
[ "$pid_before" = "$pid_after" ] || { echo "demo.sh: gm restarted" >&2; exit 1; }
step flotilla -e prod logs gm --grep ANNOUNCE -n 1

chapter "5. A release whose reward canary fails: the whole release goes back"
sed -i 's|service.on_health(\[&\] {|service.on_health([\&] {\n    return std::string("grant store unreachable");|' "$backend/reward/reward.cpp"
echo "1.2" > "$backend/VERSION"
git_in commit -qam "1.2: reward's new grant store client"
expect_fail flotilla -e int rehearse --all --like prod --ref master --ticket REL-103
step flotilla -e int history --ticket REL-103
step flotilla -e int status
expect_fail flotilla -e prod deploy --all --ref master --ticket REL-103   # the rehearsal failed

chapter "6. Hotfix from stable"
git_in checkout -q stable
echo "1.0.1" > "$backend/VERSION"; git_in commit -qam "reward: hotfix 1.0.1"
git_in checkout -q master
step flotilla -e prod hotfix reward --ref stable --ticket INC-42 -l 'prod-gs1:prod-gs2'
step curl -fsS http://127.0.1.4:8101/version

chapter "7. Roll back to a snapshot"
good=$(flotilla -e prod --json snapshots list --unit reward --offline | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["snapshots"] if x["kind"] == "deploy" and x["outcome"] == "succeeded" and x["branch"] == "master"]
print(s[-1]["id"])')
step flotilla -e prod rollback reward --to "$good" --ticket INC-42
step curl -fsS http://127.0.1.4:8101/version

chapter "8. On call: status, the error patrol, history"
step flotilla -e prod status
step flotilla -e prod logs payment --grep 'ERROR|FATAL' --since 1h --count   # per host, stamped lines
step flotilla -e prod history --unit reward
step flotilla -e prod lock status

chapter "9. Restore: the grant journal comes back from a verified backup"
step flotilla -e prod backups list reward
# Every reward deploy since launch backed up each host's journal (ann's grant
# in it, chapter 2) and verified it; the newest one on prod-gs1:
backup=$(flotilla -e prod --json backups list reward --offline | python3 -c '
import json, sys
print([b["snapshot"] for b in json.load(sys.stdin)["backups"] if b["host"] == "prod-gs1" and b["verified"]][0])')
# The journal on prod-gs1 is lost; the service starts over from nothing.
# shellcheck disable=SC2016 # expanded on the host
step flotilla -e prod exec -l prod-gs1 -- ': > /srv/reward/shared/data/reward-grants.jsonl; kill -TERM -$(cat /srv/reward/.flotilla/pid)'
step flotilla -e prod restore reward --snapshot "$backup" -l prod-gs1 --ticket INC-43
step curl -fsS -d '' 'http://127.0.1.4:8101/login?player=ann'   # nothing granted twice
echo

chapter "10. The pipeline: LOADTEST follows int, soaks, and passes a load test"
# One more environment: loadtest (lt-gs1, 127.0.1.11) takes whatever int's
# newest successful change left on int's hosts, and wrk loads its gm after
# every change. prod now takes only what soaked there and passed.
cat > "$work/project/inventories/loadtest.yaml" <<EOF
all:
  children:
    game:
      hosts:
        lt-gs1: {ansible_host: 127.0.1.11}
EOF
python3 - "$work/project/flotilla.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
prod = "  prod:\n    inventory: inventories/prod.yaml\n"
assert prod in text
text = text.replace(prod, """  loadtest:
    inventory: inventories/loadtest.yaml
    follows: {env: int, when: succeeded}
    load_test:
      command: wrk -t2 -c16 -d{{duration}} --latency http://127.0.1.11:8103/events/active
      max_p99: 250ms
      min_rps: 50
      duration: 5s
""" + prod + "    require_soak: {in: loadtest, min: 24h, load_test: passed}\n")
text += """
schedule:
  - {env: loadtest, run: sync, at: "daily 04:00 Asia/Seoul"}
"""
open(path, "w").write(text)
PY
step flotilla -e loadtest sync
step curl -fsS http://127.0.1.11:8103/version
step flotilla -e loadtest sync   # what a timer runs each morning: nothing to do
# gm 1.2 (master) is rehearsed on int from prod's exact state; the next sync
# takes it to loadtest, where wrk loads it; prod must wait out its soak.
step flotilla -e int rehearse gm --like prod --ref master --ticket REL-105
step flotilla -e loadtest sync
# Asked of the services themselves: loadtest's gm serves int's build.
served() { curl -fsS "http://$1/version" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["version"], d["commit"])'; }
[ "$(served 127.0.1.11:8103)" = "$(served 127.0.1.2:8103)" ] || { echo "demo.sh: loadtest's gm is not int's build" >&2; exit 1; }
echo "loadtest's gm serves int's build: $(served 127.0.1.11:8103)"
wrk_figures=$(flotilla -e loadtest --json snapshots list --unit gm --offline | python3 -c '
import json, sys
t = json.load(sys.stdin)["snapshots"][-1]["load_test"][0]
verdict = "passed" if t["passed"] else "FAILED"
print("p99 %s ms, %.0f requests/s, %s" % (t["p99_ms"], t["rps"], verdict))')
echo "wrk on loadtest's gm: $wrk_figures"
step flotilla pipeline           # the release manager's morning view
prod_gm=$(served 127.0.1.4:8103)
expect_fail flotilla -e prod promote gm --from loadtest --ticket REL-105   # not soaked 24h yet
[ "$(served 127.0.1.4:8103)" = "$prod_gm" ] || { echo "demo.sh: the refused promotion changed prod's gm" >&2; exit 1; }
step flotilla schedule print --format cron

chapter "11. A build players would feel: analysis against Prometheus sends it back"
# Prometheus scrapes int's gm servers (their /metrics) every second; players
# keep asking both for the live events.
cat > "$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: gm
    static_configs:
      - {targets: ['127.0.1.2:8103'], labels: {host: int-gs1}}
      - {targets: ['127.0.1.3:8103'], labels: {host: int-gs2}}
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address=127.0.1.101:9090 >"$work/prometheus.log" 2>&1 &
prometheus_pid=$!
until curl -fsS http://127.0.1.101:9090/-/ready >/dev/null 2>&1; do sleep 0.2; done
# (`|| true`: under set -e a refused connection while a gm restarts would
# end the players, and analysis would judge only Prometheus's own scrapes.)
(while :; do
  curl -s http://127.0.1.2:8103/events/active >/dev/null || true
  curl -s http://127.0.1.3:8103/events/active >/dev/null || true
  sleep 0.05
done) &
players_pid=$!
python3 - "$work/project/flotilla.yaml" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
unit = "  gm:\n    kind: gm\n"
assert unit in text
text = text.replace(unit, unit + """    analysis:
      prometheus: http://127.0.1.101:9090
      plain_http: true
      interval: 2s
      count: 3
      failure_limit: 1
      inconclusive: fail
      metrics:
        - name: error-rate
          query: 'sum(rate(http_requests_total{code=~"5..",host="{{host}}"}[10s])) / sum(rate(http_requests_total{host="{{host}}"}[10s]))'
          fail_if: "> 0.05"
""")
open(path, "w").write(text)
PY
before_gm=$(curl -fsS http://127.0.1.3:8103/version)
# The bug: gm's new event cache misses every other request (500); /health
# knows nothing of it.
python3 - "$backend/gm/gm.cpp" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
handler = ('service.http().Get("/events/active", [&](const httplib::Request&, httplib::Response& res) {\n'
           '    std::lock_guard lock(mutex);\n')
assert handler in text
text = text.replace(handler, handler + '    static int served = 0;\n'
                    '    if (++served % 2 == 0) return game::reply(res, 500, {{"error", "event cache miss"}});\n')
open(path, "w").write(text)
PY
git_in commit -qam "1.3: gm's event cache"
expect_fail flotilla -e int deploy gm --ref master --ticket REL-104
verdict=$(flotilla -e int --json snapshots list --unit gm --offline | python3 -c '
import json, sys
print(json.load(sys.stdin)["snapshots"][-1]["analysis"][0]["summary"])')
echo "analysis verdict: $verdict"
step curl -fsS http://127.0.1.2:8103/version   # the canary went back
[ "$(curl -fsS http://127.0.1.3:8103/version)" = "$before_gm" ] || { echo "demo.sh: int-gs2 changed" >&2; exit 1; }
kill "$players_pid" "$prometheus_pid"
players_pid='' prometheus_pid=''

chapter "Done"
cat <<EOF
- release/1.0 of reward, payment, gm and the game server reached int as one release;
- prod was launched with the artifacts rehearsed on int; the master upgrade was
  rehearsed on int from prod's exact state, then promoted one payment host at a
  time (pairs never both down), each drained out of HAProxy's rotation first,
  while players kept buying through it: $load_summary; none met a restart;
- a GM event went live without a restart (same pid: $pid_after);
- release 1.2's reward failed its canary on int: payment and gm, already changed,
  went back; prod refused the unrehearsed change before touching a host;
- stable was hotfixed onto one pair; the fleet was rolled back to snapshot $good;
- a game server waited for its player, who heard it from the GM; reward's lost
  grant journal came back from snapshot $backup's verified backup;
- secrets reached payment's hosts and printed as [REDACTED];
- gm 1.3 answered every other player with 500 while its health check passed:
  Prometheus saw it, the canary's analysis failed ($verdict),
  and it went back before int-gs2 was touched;
- loadtest followed int with one sync (a second was a no-op), wrk measured its gm
  ($wrk_figures), and prod refused what had not soaked there for 24h.
Exit codes: 0 ok, 1 failed (fleet consistent), 2 bad input, 3 locked, 4 unreachable.
EOF
