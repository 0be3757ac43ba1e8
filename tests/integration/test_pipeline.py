"""The pipeline runs itself (issue 34): LOADTEST follows INT through `sync`,
a real `wrk` load test judges what it brought, production refuses what has
not soaked or failed its load test, a freeze skips a scheduled step and the
log says why, and `schedule print` is what systemd accepts.

Four sshd hosts: h01 and h02 are int, h03 loadtest, h04 prod. The service
answers every GET with its release's VERSION (after DELAY seconds, when the
release has that file): each test asks the hosts what they serve."""
import datetime
import json
import os
import shutil
import subprocess
import time
import unittest

from fleet import Fleet, http_text
from helpers import TempDir, git, run, run_json

NET = "127.0.76"

SERVICE = r'''
import http.server, os, sys, time
version = open("VERSION").read().strip()
delay = float(open("DELAY").read()) if os.path.exists("DELAY") else 0
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        time.sleep(delay)
        body = version.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
'''

ENVIRONMENTS = {"int": ["h01", "h02"], "loadtest": ["h03"], "prod": ["h04"]}


def serving(host):
    return http_text(f"http://{NET}.{int(host[1:])}:8080/", timeout=10)


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class PipelineTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(4, NET)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.deploy_to = f"/srv/game-{self._testMethodName[-12:]}"
        for env, hosts in ENVIRONMENTS.items():
            lines = "\n".join(f"        {h}: {{ansible_host: {NET}.{int(h[1:])}}}" for h in hosts)
            self.tmp.write(f"{env}.yaml", f"""all:
  vars:
    ansible_port: 2222
    ansible_user: root
    ansible_ssh_private_key_file: {self.fleet.dir}/client_key
  children:
    game:
      hosts:
{lines}
""")
        self.repo = os.path.join(self.tmp.path, "game")
        self.tmp.write("game/server.py", SERVICE)
        self.tmp.write("game/VERSION", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.write_project()

    def tearDown(self):
        for env in ENVIRONMENTS:
            self.flotilla("-e", env, "exec", "--", f"pkill -f 'server[.]py {NET}'; rm -rf {self.deploy_to}")
        self.tmp.cleanup()

    def write_project(self, soak_min="24h", loadtest_extra=""):
        self.tmp.write("flotilla.yaml", f"""project: studio
ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  int: {{inventory: int.yaml}}
  loadtest:
    inventory: loadtest.yaml
    follows: {{env: int, when: succeeded}}
    load_test:
      command: wrk -t1 -c4 -d{{{{duration}}}} --latency http://{NET}.3:8080/
      max_p99: 250ms
      min_rps: 5
      duration: 2s
{loadtest_extra}  prod:
    inventory: prod.yaml
    require_soak: {{in: loadtest, min: {soak_min}, load_test: passed}}
units:
  game:
    deploy_to: {self.deploy_to}
    source: {{repo: {self.repo}}}
    run: /usr/bin/python3 server.py {{{{ansible_host}}}}
    health:
      command: curl -fsS -m 2 http://{{{{ansible_host}}}}:8080/
      timeout: 3s
      retries: 40
      interval: 100ms
    drain: {{timeout: 2s}}
    rollout: {{canary: 0, batch: 100%, max_unavailable: 100%}}
schedule:
  - {{env: loadtest, run: sync, at: "daily 04:00 Asia/Seoul"}}
""")

    def flotilla(self, *args, timeout=300):
        return run("-f", os.path.join(self.tmp.path, "flotilla.yaml"), *args, cwd=self.tmp.path,
                   timeout=timeout)

    def commit(self, version, delay=None):
        self.tmp.write("game/VERSION", version + "\n")
        path = os.path.join(self.repo, "DELAY")
        if delay is not None:
            self.tmp.write("game/DELAY", str(delay))
        elif os.path.exists(path):
            os.remove(path)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", version)

    def sync(self, expect):
        proc = self.flotilla("--json", "-e", "loadtest", "sync")
        self.assertEqual(proc.returncode, expect, proc.stdout[-3000:] + proc.stderr[-3000:])
        return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")], proc

    def newest(self, env):
        proc, doc = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "-e", env, "snapshots",
                             "list", "--offline", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        ids = [s["id"] for s in doc["snapshots"]]
        proc, shown = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "-e", env, "snapshots",
                               "show", str(max(ids)), "--offline", cwd=self.tmp.path)
        return shown

    def test_sync_brings_loadtest_to_int_once_and_prod_waits_for_the_soak(self):
        proc = self.flotilla("-e", "int", "deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events, _ = self.sync(0)
        step = next(e for e in events if e["event"] == "sync")
        self.assertEqual(step["outcome"], "synced")
        self.assertEqual(serving("h03"), "v1")
        # The same bytes as int's, no build: the artifact id int recorded.
        int_change, lt_change = self.newest("int"), self.newest("loadtest")
        self.assertEqual(lt_change["artifact"], int_change["artifact"])
        self.assertEqual(lt_change["promoted_from"], "int")
        # wrk ran against the loadtest host; its figures are in the snapshot.
        test = lt_change["load_test"][0]
        self.assertTrue(test["passed"], test)
        self.assertEqual(test["format"], "wrk")
        self.assertGreater(test["rps"], 5)
        self.assertEqual(test["command"], f"wrk -t1 -c4 -d2s --latency http://{NET}.3:8080/")
        # A second sync changes nothing and says so.
        events, proc = self.sync(0)
        self.assertEqual(next(e for e in events if e["event"] == "sync")["outcome"], "in_sync")
        self.assertEqual(self.newest("loadtest")["id"], lt_change["id"])
        # prod: refused (exit 2) before anything changes, naming the soak it lacks.
        proc = self.flotilla("-e", "prod", "promote", "game", "--from", "loadtest")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"game: in loadtest for \d+s of 24h")
        self.assertIsNone(serving("h04"))
        proc, view = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "pipeline", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        rows = {r["environment"]: r for r in view["units"][0]["environments"]}
        self.assertEqual(rows["loadtest"]["release"], int_change["artifact"])
        self.assertFalse(rows["loadtest"]["pending"])
        gates = {g["gate"]: g for g in rows["prod"]["gates"]}
        self.assertFalse(gates["soak"]["ok"])
        self.assertTrue(gates["load_test"]["ok"], gates)
        # Once it has soaked as long as prod asks, prod takes it.
        self.write_project(soak_min="3s")
        time.sleep(3)
        proc = self.flotilla("-e", "prod", "promote", "game", "--from", "loadtest")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(serving("h04"), "v1")

    def test_a_half_applied_int_is_refused_and_a_slow_build_fails_its_load_test(self):
        proc = self.flotilla("-e", "int", "deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.commit("v2", delay=0.4)
        # v2 on h01 only: int's hosts disagree, and sync names the one left behind.
        proc = self.flotilla("-e", "int", "deploy", "game", "--ref", "master", "-l", "h01")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events, proc = self.sync(2)
        self.assertIn("int's hosts disagree on game", proc.stderr)
        self.assertIn("h02", proc.stderr)
        self.assertEqual(next(e for e in events if e["event"] == "sync")["outcome"], "refused")
        self.assertIsNone(serving("h03"))
        # int whole again, on the slow build: synced, its load test fails (exit 1), and stays.
        proc = self.flotilla("-e", "int", "deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events, _ = self.sync(1)
        test = next(e for e in events if e["event"] == "load_test")
        self.assertFalse(test["passed"])
        self.assertRegex(test["failures"][0], r"^p99 \d+(\.\d)? ms > 250 ms$")
        self.assertEqual(serving("h03"), "v2")
        self.assertFalse(self.newest("loadtest")["load_test"][0]["passed"])
        # prod refuses it for the load test even once the soak is long enough.
        self.write_project(soak_min="1s")
        time.sleep(1)
        proc = self.flotilla("-e", "prod", "promote", "game", "--from", "loadtest")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertRegex(proc.stderr, r"game: load test p99 \d+(\.\d)? ms > 250 ms")
        self.assertIsNone(serving("h04"))

    def test_a_frozen_step_is_skipped_and_recorded_and_schedule_print_is_what_systemd_takes(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        frm = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        to = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.write_project(loadtest_extra=f'    freeze: [{{from: "{frm}", to: "{to}", reason: launch week}}]\n')
        events, proc = self.sync(0)
        step = next(e for e in events if e["event"] == "sync")
        self.assertEqual(step["outcome"], "skipped")
        self.assertIn("launch week", step["reason"])
        proc, view = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "pipeline", "--offline",
                              cwd=self.tmp.path)
        last = {e["environment"]: e["last_step"] for e in view["environments"]}
        self.assertEqual(last["loadtest"]["outcome"], "skipped")
        self.assertIn("loadtest is frozen", last["loadtest"]["reason"])
        # The timer and service pair systemd would run it with.
        units = os.path.join(self.tmp.path, "units")
        proc = self.flotilla("schedule", "print", "--dir", units)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        names = sorted(os.listdir(units))
        self.assertEqual(names, ["flotilla-studio-loadtest-sync.service", "flotilla-studio-loadtest-sync.timer"])
        with open(os.path.join(units, names[1])) as f:
            self.assertIn("OnCalendar=*-*-* 04:00:00 Asia/Seoul", f.read())
        if shutil.which("systemd-analyze"):
            paths = [os.path.join(units, n) for n in names]
            check = subprocess.run(["systemd-analyze", "verify", *paths], capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            check = subprocess.run(["systemd-analyze", "calendar", "*-*-* 04:00:00 Asia/Seoul"],
                                   capture_output=True, text=True)
            self.assertEqual(check.returncode, 0, check.stderr)


if __name__ == "__main__":
    unittest.main()
