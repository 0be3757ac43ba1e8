"""Players never see a restart (issue 33): a real HAProxy (Debian's 2.6) in
front of 4 sshd hosts in 2 pairs, driven by flotilla through its runtime API
socket on a fifth host, the balancer, reached over SSH. A client keeps
sending requests through HAProxy (keep-alive and new connections) during a
rolling deploy, a canary rollback and a rollback: with `balancer:` none
fails; without it, the same run counts the failures. HAProxy itself is asked
which servers are UP, and the responses which release served them."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import BIN, TempDir, git  # noqa: E402

NET = "127.0.73"
GAME_HOSTS = 4  # h01-h04 in two pairs; h05 runs the balancer's socket
FRONTEND = (f"{NET}.100", 8000)

# The game's HTTP service: HTTP/1.1 keep-alive, a few milliseconds per
# request, 300 ms for /slow (a restart meets requests in flight), its release's VERSION in
# every answer. A release whose START_DELAY file says so waits before it
# listens (a slow start); BROKEN never listens. Started by `run:` without
# exec, as a studio writes it.
SERVICE = r'''
import http.server, os, sys, time
version = open("VERSION").read().strip()
if os.path.exists("BROKEN"):
    time.sleep(3600)
if os.path.exists("START_DELAY"):
    time.sleep(float(open("START_DELAY").read()))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(0.3 if self.path == "/slow" else 0.005)
        body = version.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
'''

HAPROXY_CFG = """global
    stats socket {socket} mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend game
    bind {address}:{port}
    default_backend game_http
backend game_http
    balance roundrobin
    option httpchk GET /
    default-server check inter 200ms fall 2 rise 1
{servers}
"""


class Client:
    """Requests through HAProxy until stopped: KEEP_ALIVE workers on one connection
    each, FRESH workers on a new connection per request, SLOW keep-alive workers
    asking for /slow (a restart that does not wait cuts them). Counts failures and
    what each release served, with the time of each answer."""

    KEEP_ALIVE, FRESH, SLOW = 4, 2, 8

    def __init__(self):
        self.failures, self.served = [], []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        kinds = [(True, "/")] * self.KEEP_ALIVE + [(False, "/")] * self.FRESH + [(True, "/slow")] * self.SLOW
        self.threads = [threading.Thread(target=self.work, args=kind) for kind in kinds]
        for t in self.threads:
            t.start()

    def work(self, keep_alive, path):
        conn = None
        while not self.stopping.is_set():
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(*FRONTEND, timeout=10)
                conn.request("GET", path)
                response = conn.getresponse()
                body = response.read().decode()
                with self.lock:
                    if response.status == 200:
                        self.served.append((time.monotonic(), body))
                    else:
                        self.failures.append(f"{response.status} {body[:60]!r}")
                if not keep_alive or response.will_close:
                    conn.close()
                    conn = None
            except Exception as e:  # a refused, reset or cut connection is a failed request
                with self.lock:
                    self.failures.append(repr(e))
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.01)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()
        return len(self.served), list(self.failures)


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class BalancerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(GAME_HOSTS + 1, NET, pairs=True)
        cls.tmp = TempDir()
        cls.socket = os.path.join(cls.tmp.path, "haproxy.sock")
        servers = "\n".join(f"    server h{i:02d} {NET}.{i}:8080" for i in range(1, GAME_HOSTS + 1))
        config = cls.tmp.write("haproxy.cfg", HAPROXY_CFG.format(
            socket=cls.socket, address=FRONTEND[0], port=FRONTEND[1], servers=servers))
        cls.haproxy = subprocess.Popen(["haproxy", "-f", config, "-db"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
        for _ in range(100):
            if os.path.exists(cls.socket):
                break
            time.sleep(0.05)
        cls.repo = os.path.join(cls.tmp.path, "game")
        cls.tmp.write("game/server.py", SERVICE)
        cls.tmp.write("game/VERSION", "v1\n")
        git(cls.repo, "init", "-q", "-b", "master")
        git(cls.repo, "add", "-A")
        git(cls.repo, "commit", "-qm", "v1")

    @classmethod
    def tearDownClass(cls):
        cls.haproxy.terminate()
        cls.haproxy.wait()
        cls.fleet.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.deploy_to = f"/srv/game-{os.getpid()}-{self._testMethodName[-12:]}"
        self.project = self.write_project(balancer=True)

    def tearDown(self):
        self.flotilla("exec", "--", f"pkill -f 'server[.]py {NET}'; rm -rf {self.deploy_to}")
        self.haproxy_command("; ".join(f"set server game_http/h{i:02d} state ready; "
                                       f"set weight game_http/h{i:02d} 100%" for i in range(1, 5)))

    def write_project(self, balancer, canary_weight=None, bake="0s", name="flotilla.yaml"):
        rollout = f"{{canary: 1, bake: {bake}, batch: 1, max_unavailable: 1"
        rollout += f", canary_weight: {canary_weight}}}" if canary_weight else "}"
        text = f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet:!h05
    deploy_to: {self.deploy_to}
    source: {{repo: {self.repo}}}
    run: python3 server.py {{{{ansible_host}}}}
    health:
      command: curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/
      timeout: 2s
      retries: 40
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {rollout}
"""
        if balancer:
            text += f"""    balancer:
      type: haproxy
      hosts: h05
      socket: {self.socket}
      backend: game_http
      drain: 10s
"""
        return self.tmp.write(name, text)

    def flotilla(self, *args, timeout=300):
        return subprocess.run([BIN, "--ssh-config", "none", "-f", self.project, "-e", "prod", *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def commit(self, version, **files):
        self.tmp.write("game/VERSION", version + "\n")
        for name in ("BROKEN", "START_DELAY"):
            path = os.path.join(self.repo, name)
            if name in files:
                self.tmp.write(f"game/{name}", files[name])
            elif os.path.exists(path):
                os.remove(path)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--allow-empty", "-m", version)

    def deploy(self, *extra, expect=0):
        proc = self.flotilla("--json", "deploy", "game", "--ref", "master", *extra)
        self.assertEqual(proc.returncode, expect, proc.stdout[-3000:] + proc.stderr[-3000:])
        return proc

    def haproxy_command(self, line):
        return subprocess.run(["socat", "-t", "5", "-", f"UNIX-CONNECT:{self.socket}"], input=line + "\n",
                              capture_output=True, text=True).stdout

    def haproxy_status(self):
        """HAProxy's own word for each game server: UP, MAINT, DRAIN, DOWN..."""
        lines = self.haproxy_command("show stat game_http 4 -1").splitlines()
        header = lines[0].lstrip("# ").split(",")
        at = {name: header.index(name) for name in ("svname", "status", "weight")}
        rows = [line.split(",") for line in lines[1:] if line.strip()]
        return {r[at["svname"]]: r[at["status"]] for r in rows}

    def wait_all_up(self):
        for _ in range(100):
            if set(self.haproxy_status().values()) == {"UP"}:
                return
            time.sleep(0.1)
        self.fail(f"not every server is UP: {self.haproxy_status()}")

    def v1_everywhere(self):
        """v1 deployed on every host, and HAProxy says each one is UP."""
        self.commit("v1")
        self.deploy()
        self.wait_all_up()

    def events(self, proc, kind):
        return [e for e in map(json.loads, proc.stdout.splitlines()) if e.get("event") == kind]

    def scenario(self):
        """v1 everywhere, then under the client's load: a rolling deploy of v2, a
        rollback to v1, and a broken v3 whose canary is rolled back. Returns the three
        runs and what the client saw."""
        self.v1_everywhere()
        client = Client()
        try:
            self.commit("v2")
            deployed = self.deploy()
            rolled = self.flotilla("--json", "rollback", "game")  # every host back to v1
            self.assertEqual(rolled.returncode, 0, rolled.stdout[-3000:] + rolled.stderr[-3000:])
            self.commit("v3", BROKEN="1")
            broken = self.deploy(expect=1)  # the canary never comes up: it goes back to v1
            time.sleep(0.5)
        finally:
            served, failures = client.stop()
        return deployed, rolled, broken, served, failures

    def test_rolling_deploy_rollback_and_canary_rollback_fail_no_request(self):
        deployed, rolled, broken, served, failures = self.scenario()
        print(f"\nwith balancer: {served} requests, {len(failures)} failed", file=sys.stderr)
        self.assertEqual(failures, [], f"{len(failures)} of {served} requests failed")
        self.assertGreater(served, 500)
        self.assertEqual(self.haproxy_status(), {f"h{i:02d}": "UP" for i in range(1, 5)})
        # After the rollback and the failed canary, every server serves v1 again.
        client = Client()
        time.sleep(1)
        client.stop()
        self.assertEqual({body for _, body in client.served}, {"v1"})
        # Each host was drained, put in maint and brought back UP on the balancer host,
        # by the deploy and by the rollback alike.
        for proc in (deployed, rolled):
            steps = self.events(proc, "balancer")
            for host in (f"h{i:02d}" for i in range(1, 5)):
                actions = [s["action"] for s in steps if s["host"] == host]
                self.assertEqual(actions[0], "drain", actions)
                self.assertIn("maint", actions)
                self.assertEqual(actions[-1], "ready", actions)
                self.assertEqual([s["status"] for s in steps if s["host"] == host and s["action"] == "ready"][-1],
                                 "UP")
            self.assertTrue(all(s["balancer"] == "h05" for s in steps))
        # The broken canary failed and went back; no other host was touched.
        done = {e["host"]: e for e in self.events(broken, "host_done")}
        self.assertEqual(list(done), ["h01"])
        self.assertEqual(len(self.events(broken, "host_rolled_back")), 1)

    def test_without_balancer_the_same_changes_fail_requests(self):
        self.project = self.write_project(balancer=False)
        _, _, _, served, failures = self.scenario()
        print(f"\nwithout balancer: {served} requests, {len(failures)} failed", file=sys.stderr)
        self.assertGreater(len(failures), 0, "restarts without the balancer lost no request")

    def test_canary_at_ten_percent_receives_its_share(self):
        self.project = self.write_project(balancer=True, canary_weight="10%", bake="8s")
        self.v1_everywhere()
        client = Client()
        try:
            self.commit("v2")
            proc = self.deploy()
        finally:
            client.stop()
        first_v2 = min(t for t, body in client.served if body == "v2")
        # The bake's middle: the canary alone runs v2, at its weight, and no other host is out.
        window = [body for t, body in client.served if first_v2 + 1 <= t <= first_v2 + 6]
        share = 100 * window.count("v2") / len(window)
        print(f"\ncanary share at 10%: {share:.1f}% of {len(window)} requests", file=sys.stderr)
        self.assertTrue(5 <= share <= 15, f"canary share {share:.1f}%")
        weights = [s for s in self.events(proc, "balancer") if s["action"] == "weight"]
        self.assertTrue(any(s["host"] == "h01" for s in weights), weights)
        # Restored after the bake: every server back at its own weight.
        lines = self.haproxy_command("show servers state game_http").splitlines()
        header = next(line for line in lines if line.startswith("# be_id")).lstrip("# ").split()
        rows = [line.split() for line in lines if line and line[0].isdigit() and len(line.split()) > 5]
        uw, iw = header.index("srv_uweight"), header.index("srv_iweight")
        self.assertEqual({r[uw] for r in rows}, {r[iw] for r in rows})

    def test_interrupted_batch_is_flagged_by_status_and_fixed_by_balancer_ready(self):
        self.v1_everywhere()
        self.commit("v2", START_DELAY="4")
        deploy = subprocess.Popen([BIN, "--ssh-config", "none", "-f", self.project, "-e", "prod", "--json",
                                   "deploy", "game", "--ref", "master"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Ctrl-C twice once the canary is in maint and restarting: flotilla stops waiting for it.
        for _ in range(200):
            if self.haproxy_status().get("h01") == "MAINT":
                break
            time.sleep(0.05)
        time.sleep(0.5)
        deploy.send_signal(signal.SIGINT)
        time.sleep(0.2)
        deploy.send_signal(signal.SIGINT)
        out, err = deploy.communicate(timeout=120)
        self.assertNotEqual(deploy.returncode, 0)
        self.assertIn("balancer ready game -l h01", out + err)
        self.assertEqual(self.haproxy_status()["h01"], "MAINT")
        status = self.flotilla("--json", "status", "game")
        self.assertEqual(status.returncode, 1, status.stdout + status.stderr)
        hosts = {h["host"]: h for h in json.loads(status.stdout)["units"][0]["hosts"]}
        self.assertEqual(hosts["h01"]["balancers"][0]["status"], "MAINT")
        self.assertIn("MAINT on balancer h05", hosts["h01"]["drift"])
        self.assertEqual(hosts["h02"]["balancers"][0]["status"], "UP")
        ready = self.flotilla("--json", "balancer", "ready", "game", "-l", "h01")
        self.assertEqual(ready.returncode, 0, ready.stdout + ready.stderr)
        self.assertEqual(self.haproxy_status()["h01"], "UP")
        status = self.flotilla("--json", "status", "game")
        hosts = {h["host"]: h for h in json.loads(status.stdout)["units"][0]["hosts"]}
        self.assertEqual(hosts["h01"]["balancers"][0]["status"], "UP")
        self.assertFalse([d for d in hosts["h01"]["drift"] if "balancer" in d], hosts["h01"]["drift"])

    def test_doctor_checks_the_socket_and_plan_shows_the_balancer(self):
        self.project = self.write_project(balancer=True, canary_weight="10%", bake="1m")
        doctor = self.flotilla("--json", "doctor")
        self.assertEqual(doctor.returncode, 0, doctor.stdout + doctor.stderr)
        self.assertIn("h05", [h["host"] for h in json.loads(doctor.stdout)["hosts"]])
        plan = self.flotilla("plan", "game", "--ref", "master")
        self.assertIn("the canary takes 10% of the backend's traffic for its 1m bake", plan.stdout)
        record = self.flotilla("plan", "game", "--ref", "master", "--format", "markdown")
        self.assertIn("balancer: haproxy 'h05' backend game_http", record.stdout)
        with open(self.project) as f:
            text = f.read()
        with open(self.project, "w") as f:
            f.write(text.replace(f"socket: {self.socket}", "socket: /run/haproxy/nowhere.sock"))
        doctor = self.flotilla("doctor")
        self.assertEqual(doctor.returncode, 1, doctor.stdout + doctor.stderr)
        self.assertIn("h05: no HAProxy runtime API socket at /run/haproxy/nowhere.sock (balancer of game)",
                      doctor.stdout)

    def test_a_server_missing_from_the_backend_refuses_the_change_before_any_host(self):
        self.commit("v1")
        self.deploy()
        with open(self.project) as f:
            text = f.read()
        with open(self.project, "w") as f:
            f.write(text.replace("      drain: 10s\n", "      drain: 10s\n      server: web-{{host}}\n"))
        self.commit("v2")
        proc = self.deploy(expect=1)
        self.assertIn("backend game_http has no server for h01 (server web-h01)", proc.stderr)
        client = Client()
        time.sleep(0.5)
        client.stop()
        self.assertEqual({body for _, body in client.served}, {"v1"})


if __name__ == "__main__":
    unittest.main()
