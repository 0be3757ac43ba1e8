"""Judged by what players feel (issue 32): Debian's Prometheus on loopback
scrapes a real HTTP service on 3 sshd hosts (its /metrics through the
prometheus_client library, started by `run:` without exec), while a client
keeps requests flowing to each host. flotilla's analysis asks that
Prometheus after each batch. The tests ask the services which release they
serve and the ledger what was recorded, not what flotilla printed."""
import json
import os
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import BIN, TempDir, git  # noqa: E402

HOSTS = 3
NET = PROMETHEUS = None  # the suite's addresses, set by AnalysisFleet.setUpClass
INTERVAL = 1  # seconds between measurements

# The game's service. ERROR_RATE (a fraction) answers that share of
# requests with 500 while its health check (/health) still passes; DELAY
# (seconds) slows every request; game_fault_flag says whether the host's
# fault file (outside any release) exists: the watch's alert reads it.
SERVICE = r'''
import http.server, os, random, sys, time
from prometheus_client import Counter, Gauge, Histogram, generate_latest, CONTENT_TYPE_LATEST
version = open("VERSION").read().strip()
error_rate = float(open("ERROR_RATE").read()) if os.path.exists("ERROR_RATE") else 0.0
delay = float(open("DELAY").read()) if os.path.exists("DELAY") else 0.01
fault_file = os.path.join(os.path.dirname(os.path.dirname(os.getcwd())), "fault")
requests = Counter("http_requests", "Requests served", ["code"])
for code in ("200", "500"):
    requests.labels(code)  # every series exists from the start, at 0
latency = Histogram("http_request_duration_seconds", "Request latency",
                    buckets=(.005, .01, .015, .02, .03, .04, .05, .075, .1, .25, .5, 1))
fault = Gauge("game_fault_flag", "1 while the host's fault file exists")
fault.set_function(lambda: 1 if os.path.exists(fault_file) else 0)
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self, code, body, kind="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/metrics":
            return self.answer(200, generate_latest(), CONTENT_TYPE_LATEST)
        if self.path == "/health":
            return self.answer(200, b"ok")
        started = time.monotonic()
        time.sleep(delay)
        code = 500 if random.random() < error_rate else 200
        self.answer(code, version.encode())
        requests.labels(str(code)).inc()
        latency.observe(time.monotonic() - started)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
'''

PROMETHEUS_CFG = """global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [{rules}]
scrape_configs:
  - job_name: game
    static_configs:
{targets}
"""

RULES = """groups:
  - name: game
    rules:
      - alert: GameDown
        expr: max(game_fault_flag) > 0
"""

ERROR_RATE = ('sum(rate(http_requests_total{code=~"5..",host="{{host}}"}[6s])) / '
              'sum(rate(http_requests_total{host="{{host}}"}[6s]))')
P99 = ('histogram_quantile(0.99, sum by (le) '
       '(rate(http_request_duration_seconds_bucket{host="{{host}}"}[6s])))')


class Traffic:
    """A client per host, a request every `pause` seconds (20 ms), until stopped."""

    def __init__(self, net):
        self.pause = 0.02
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.work, args=(f"{net}.{i}",)) for i in range(1, HOSTS + 1)]
        for t in self.threads:
            t.start()

    def work(self, address):
        while not self.stopping.is_set():
            try:
                urllib.request.urlopen(f"http://{address}:8080/", timeout=2).read()
            except Exception:  # a 500 or a restart: counted by the service, not here
                pass
            time.sleep(self.pause)

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join()


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class AnalysisFleet(unittest.TestCase):
    """The fleet, Prometheus and the traffic; the tests are in the subclasses (each
    suite on its own addresses, so two run side by side)."""

    net = None

    @classmethod
    def setUpClass(cls):
        if cls.net is None:
            raise unittest.SkipTest("the fleet without its tests")
        global NET, PROMETHEUS
        NET, PROMETHEUS = cls.net, f"{cls.net}.100:9090"
        cls.fleet = Fleet(HOSTS, NET)
        cls.tmp = TempDir()
        targets = "\n".join(f"      - targets: ['{NET}.{i}:8080']\n        labels: {{host: h{i:02d}}}"
                            for i in range(1, HOSTS + 1))
        rules = cls.tmp.write("rules.yaml", RULES)
        config = cls.tmp.write("prometheus.yml", PROMETHEUS_CFG.format(rules=rules, targets=targets))
        cls.prometheus = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={cls.tmp.path}/tsdb",
             f"--web.listen-address={PROMETHEUS}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                urllib.request.urlopen(f"http://{PROMETHEUS}/-/ready", timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        cls.repo = os.path.join(cls.tmp.path, "game")
        cls.tmp.write("game/server.py", SERVICE)
        cls.tmp.write("game/VERSION", "v1\n")
        git(cls.repo, "init", "-q", "-b", "master")
        git(cls.repo, "add", "-A")
        git(cls.repo, "commit", "-qm", "v1")
        cls.traffic = Traffic(NET)

    @classmethod
    def tearDownClass(cls):
        cls.traffic.stop()
        cls.prometheus.terminate()
        cls.prometheus.wait()
        cls.fleet.stop()
        cls.tmp.cleanup()

    def setUp(self):
        self.deploy_to = f"/srv/game-{self._testMethodName[-16:]}"
        self.project = self.write_project(analysis=None)
        self.commit("v1")
        self.deploy()
        self.project = self.write_project(analysis=self.analysis(ERROR_RATE, "fail_if: '> 0.05'"))

    def tearDown(self):
        self.flotilla("exec", "--", f"pkill -f 'server[.]py {NET}'; rm -rf {self.deploy_to}")

    @staticmethod
    def analysis(query, condition, extra="", inconclusive="fail", prometheus=None, interval=INTERVAL, count=3):
        prometheus = prometheus or f"http://{PROMETHEUS}"
        return f"""    analysis:
      prometheus: {prometheus}
      plain_http: true
      interval: {interval}s
      count: {count}
      failure_limit: 1
      inconclusive: {inconclusive}
      metrics:
        - name: checked
          query: '{query}'
          {condition}
{extra}"""

    def write_project(self, analysis, watch=""):
        text = f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  game:
    deploy_to: {self.deploy_to}
    source: {{repo: {self.repo}}}
    run: /usr/bin/python3 server.py {{{{ansible_host}}}}
    health:
      command: curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/health
      timeout: 2s
      retries: 40
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {{canary: 1, batch: 100%, max_unavailable: 100%}}
"""
        text += analysis or ""
        text += watch
        return self.tmp.write("flotilla.yaml", text)

    def flotilla(self, *args, timeout=300):
        return subprocess.run([BIN, "--ssh-config", "none", "-f", self.project, "-e", "prod", *args],
                              capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def commit(self, version, **files):
        self.tmp.write("game/VERSION", version + "\n")
        for name in ("ERROR_RATE", "DELAY"):
            path = os.path.join(self.repo, name)
            if name in files:
                self.tmp.write(f"game/{name}", files[name])
            elif os.path.exists(path):
                os.remove(path)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-q", "--allow-empty", "-m", version)

    def deploy(self, expect=0):
        proc = self.flotilla("--json", "deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, expect, proc.stdout[-4000:] + proc.stderr[-3000:])
        return proc

    def deploy_in_background(self):
        """A deploy whose --json events the test reads as they come."""
        return subprocess.Popen([BIN, "--ssh-config", "none", "-f", self.project, "-e", "prod", "--json",
                                 "deploy", "game", "--ref", "master"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=subprocess.DEVNULL)

    @staticmethod
    def events(text, kind):
        return [e for e in map(json.loads, text.splitlines()) if e.get("event") == kind]

    def serving(self):
        """What each host's service says it serves, asked directly."""
        out = {}
        for i in range(1, HOSTS + 1):
            for _ in range(50):
                try:
                    with urllib.request.urlopen(f"http://{NET}.{i}:8080/", timeout=2) as r:
                        out[f"h{i:02d}"] = r.read().decode()
                    break
                except urllib.error.HTTPError as e:  # a 500 still names its release
                    out[f"h{i:02d}"] = e.read().decode()
                    break
                except Exception:
                    time.sleep(0.1)
        return out

    def pids(self, *numbers):
        """The processes serving on hosts `numbers` (the hosts share one pid namespace)."""
        out = []
        for i in numbers:
            proc = self.flotilla("exec", "-l", f"h{i:02d}", "--", f"pgrep -f 'server[.]py {NET}[.]{i}$'")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out.append(proc.stdout)
        return out

    def snapshots(self):
        proc = self.flotilla("--json", "snapshots", "list", "--unit", "game")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout)["snapshots"]



class AnalysisTest(AnalysisFleet):
    net = "127.0.74"

    def test_a_canary_whose_errors_rise_is_rolled_back_within_two_intervals(self):
        # Twice the scrape interval: each round sees a fresh sample of the canary.
        self.project = self.write_project(self.analysis(ERROR_RATE, "fail_if: '> 0.05'", interval=2))
        before = self.pids(2, 3)
        self.commit("v2", ERROR_RATE="0.5")
        proc = self.deploy(expect=1)
        measured = self.events(proc.stdout, "analysis")
        self.assertTrue(measured and all(m["host"] == "h01" for m in measured), measured)
        self.assertEqual([m["verdict"] for m in measured], ["failed", "failed"])
        self.assertTrue(all(m["value"] > 0.05 for m in measured))
        verdict = self.events(proc.stdout, "analysis_verdict")[-1]
        self.assertEqual((verdict["verdict"], verdict["action"]), ("failed", "roll back"))
        self.assertIn("checked", verdict["summary"])
        self.assertIn("h01", verdict["summary"])
        self.assertIn("> 0.05", verdict["summary"])
        # Two failed rounds (failure_limit 1), one interval apart: the rollback
        # began within two intervals of the canary serving.
        phases = {p["name"]: p["seconds"] for p in self.events(proc.stdout, "phases")[-1]["phases"]}
        self.assertLess(phases.get("analysis canary", 99), 2 * 2 + 1.5, phases)
        # What the hosts say: everyone serves v1; h02 and h03 never restarted.
        self.assertEqual(set(self.serving().values()), {"v1"})
        self.assertEqual(self.pids(2, 3), before)
        rolled = [e["host"] for e in self.events(proc.stdout, "host_rolled_back")]
        self.assertEqual(rolled, ["h01"])
        self.assertEqual([e["host"] for e in self.events(proc.stdout, "host_started")], ["h01"])
        record = self.snapshots()[-1]
        self.assertEqual(record["outcome"], "failed")
        self.assertEqual(record["analysis"][0]["verdict"], "failed")
        self.assertEqual(len(record["analysis"][0]["measurements"]), 2)
        # The change record and history show the verdict; metrics count it failed.
        metrics = json.loads(self.flotilla("--json", "metrics", "--unit", "game").stdout)
        self.assertIn(record["id"], metrics["failed_changes"])
        history = self.flotilla("history", "--unit", "game")
        self.assertIn("analysis canary: failed (roll back): checked", history.stdout)

    def test_no_data_pauses_until_resume_or_abort_from_another_controller(self):
        self.project = self.write_project(self.analysis('sum(rate(no_such_metric{host="{{host}}"}[6s]))',
                                                        "fail_if: '> 1'", inconclusive="pause"))
        self.commit("v2")
        deploy = self.deploy_in_background()
        lines = []

        def wait_for_pause(count):
            while True:
                line = deploy.stdout.readline()
                self.assertTrue(line, "the deploy ended without pausing: " + "".join(lines[-20:]))
                lines.append(line)
                paused = [e for e in self.events("".join(lines), "analysis_verdict") if e["action"] == "paused"]
                if len(paused) == count:
                    return paused[-1]

        nothing = self.flotilla("abort", "game")
        self.assertEqual(nothing.returncode, 1, nothing.stderr)
        paused = wait_for_pause(1)
        self.assertEqual((paused["step"], paused["verdict"]), ("canary", "inconclusive"))
        self.assertIn("flotilla resume prod game", paused["summary"])
        # A second controller (its own state directory) resumes: the canary goes on.
        other = self.tmp.write("other.yaml", open(self.project).read() + "state_dir: " +
                               os.path.join(self.tmp.path, "other-state") + "\n")
        resumed = subprocess.run([BIN, "--ssh-config", "none", "-f", other, "resume", "prod", "game"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        wait_for_pause(2)
        self.assertEqual(self.serving()["h01"], "v2")
        aborted = subprocess.run([BIN, "--ssh-config", "none", "-f", other, "-e", "prod", "abort", "game"],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(aborted.returncode, 0, aborted.stderr)
        out, err = deploy.communicate(timeout=120)
        lines.append(out)
        self.assertEqual(deploy.returncode, 1, err[-2000:])
        verdicts = self.events("".join(lines), "analysis_verdict")
        self.assertEqual([(v["step"], v["action"]) for v in verdicts],
                         [("canary", "paused"), ("canary", "resumed"), ("batch 2", "paused"),
                          ("batch 2", "aborted")])
        self.assertTrue(verdicts[1]["by"] and verdicts[3]["by"])
        # The canary stays on v2 (resumed); the aborted batch went back to v1.
        self.assertEqual(self.serving(), {"h01": "v2", "h02": "v1", "h03": "v1"})
        # The lock is free again and the board is empty.
        self.assertEqual(self.flotilla("resume", "game").returncode, 1)
        self.assertEqual(self.flotilla("lock", "status").returncode, 0)

    def test_a_baseline_comparison_catches_a_canary_twice_as_slow(self):
        self.project = self.write_project(self.analysis(P99, "compare: baseline\n          fail_if: '> 1.5x'"))
        self.commit("v2", DELAY="0.04")  # v1 takes 10 ms
        proc = self.deploy(expect=1)
        failed = [m for m in self.events(proc.stdout, "analysis") if m["verdict"] == "failed"]
        self.assertTrue(failed, proc.stdout[-3000:])
        self.assertTrue(all(m["host"] == "h01" and m["value"] > 1.5 * m["baseline"] for m in failed), failed)
        self.assertEqual(set(self.serving().values()), {"v1"})

    def test_a_firing_alert_inside_the_watch_rolls_back_once(self):
        self.project = self.write_project(
            self.analysis(ERROR_RATE, "fail_if: '> 0.05'"),
            watch="""    watch:
      for: 40s
      alert: 'ALERTS{alertname="GameDown",alertstate="firing"}'
""")
        self.commit("v2")
        deploy = self.deploy_in_background()
        lines = []
        while not self.events("".join(lines), "watch"):
            line = deploy.stdout.readline()
            self.assertTrue(line, "".join(lines[-20:]))
            lines.append(line)
        self.flotilla("exec", "-l", "h02", "--", f"touch {self.deploy_to}/fault")
        out, err = deploy.communicate(timeout=120)
        lines.append(out)
        # The first alert rolled the change back; the alert firing on afterwards did nothing more.
        time.sleep(4)
        self.assertEqual(deploy.returncode, 1, err[-2000:])
        records = self.snapshots()
        self.assertEqual([(r["kind"], r.get("cause", "")) for r in records[-2:]],
                         [("deploy", ""), ("rollback", "watch:GameDown")])
        self.assertEqual(records[-1]["analysis"][0]["step"], "watch")
        metrics = json.loads(self.flotilla("--json", "metrics", "--unit", "game").stdout)
        self.assertIn(records[-2]["id"], metrics["failed_changes"])
        self.assertEqual(set(self.serving().values()), {"v1"})
        self.flotilla("exec", "-l", "h02", "--", f"rm -f {self.deploy_to}/fault")
        self.assertEqual(len(self.snapshots()), len(records))

    def lock_holder(self):
        proc = self.flotilla("--json", "lock", "status")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return json.loads(proc.stdout).get("holder")

    def wait_gone(self, pid, seconds):
        """Whether the process ended (a zombie counts: its parent, the deploy, is gone)."""
        self.addCleanup(lambda: subprocess.run(["kill", str(pid)], capture_output=True))
        for _ in range(seconds * 10):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        return True
            except FileNotFoundError:
                return True
            time.sleep(0.1)
        return False

    def test_no_wait_returns_and_the_watch_goes_on_in_the_background_holding_the_lock(self):
        self.project = self.write_project(
            self.analysis(ERROR_RATE, "fail_if: '> 0.05'"),
            watch="""    watch:
      for: 5m
      alert: 'ALERTS{alertname="GameDown",alertstate="firing"}'
""")
        self.commit("v2")
        started = time.monotonic()
        # subprocess.run returns only once stdout and stderr close: the
        # background process must not keep the caller's pipes.
        proc = self.flotilla("--json", "deploy", "game", "--ref", "master", "--no-wait", timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        self.assertLess(time.monotonic() - started, 100)
        background = [e for e in self.events(proc.stdout, "watch") if e.get("state") == "background"]
        self.assertEqual(len(background), 1, proc.stdout[-3000:])
        pid, log = background[0]["pid"], background[0]["log"]
        self.assertEqual(background[0]["units"], ["game"])
        # The change is in; the lock is held by the background process, alive.
        self.assertEqual(set(self.serving().values()), {"v2"})
        holder = self.lock_holder()
        self.assertEqual(holder["pid"], pid)
        self.assertIn("in the background", holder["message"])
        os.kill(pid, 0)
        # Another change waits for it.
        refused = self.flotilla("deploy", "game", "--ref", "master")
        self.assertEqual(refused.returncode, 3, refused.stderr)
        # A firing alert: the background process rolls the change back once and lets go.
        self.flotilla("exec", "-l", "h02", "--", f"touch {self.deploy_to}/fault")
        try:
            self.assertTrue(self.wait_gone(pid, 90), "the background watch did not end")
        finally:
            self.flotilla("exec", "-l", "h02", "--", f"rm -f {self.deploy_to}/fault")
        self.assertEqual(set(self.serving().values()), {"v1"})
        records = self.snapshots()
        self.assertEqual([(r["kind"], r.get("cause", "")) for r in records[-2:]],
                         [("deploy", ""), ("rollback", "watch:GameDown")])
        self.assertIsNone(self.lock_holder())
        with open(log) as f:
            text = f.read()
        self.assertIn("analysis_verdict", text)
        self.assertIn("GameDown", text)

        # Again, and a person's rollback from a second controller ends the watch.
        time.sleep(3)  # the alert stops firing once the fault file is gone
        self.commit("v3")
        proc = self.flotilla("--json", "deploy", "game", "--ref", "master", "--no-wait", timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:] + proc.stderr[-3000:])
        pid = [e for e in self.events(proc.stdout, "watch") if e.get("state") == "background"][0]["pid"]
        self.assertEqual(set(self.serving().values()), {"v3"})
        other = self.tmp.write("other.yaml", open(self.project).read() + "state_dir: " +
                               os.path.join(self.tmp.path, "other-state") + "\n")
        back = subprocess.run([BIN, "--ssh-config", "none", "-f", other, "-e", "prod", "rollback", "game"],
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        self.assertEqual(back.returncode, 0, back.stderr[-3000:])
        self.assertTrue(self.wait_gone(pid, 30), "the rollback did not end the background watch")
        self.assertEqual(set(self.serving().values()), {"v1"})
        self.assertEqual(self.snapshots()[-1]["kind"], "rollback")
        self.assertIsNone(self.lock_holder())

    def test_below_the_traffic_floor_nothing_passes(self):
        # A trickle of players: the error rate reads 0 and would pass; the
        # floor (5 requests/s per host) says there is too little to judge.
        floor = ("      traffic:\n        query: 'sum(rate(http_requests_total{host=\"{{host}}\"}[6s]))'\n"
                 "        min: 5\n")
        self.project = self.write_project(self.analysis(ERROR_RATE, "fail_if: '> 0.05'", extra=floor))
        self.commit("v2")
        self.traffic.pause = 1.0
        try:
            time.sleep(7)  # the 6 s rate window sees only the trickle
            proc = self.deploy(expect=1)
        finally:
            self.traffic.pause = 0.02
        traffic = [m for m in self.events(proc.stdout, "analysis") if m["metric"] == "traffic"]
        self.assertTrue(traffic and all(m["verdict"] == "inconclusive" and m["value"] < 5 for m in traffic),
                        traffic)
        self.assertFalse([m for m in self.events(proc.stdout, "analysis") if m["metric"] == "checked"])
        verdict = self.events(proc.stdout, "analysis_verdict")[-1]
        self.assertEqual(verdict["verdict"], "inconclusive")
        self.assertIn("below traffic.min 5", verdict["summary"])
        self.assertEqual(set(self.serving().values()), {"v1"})

    def test_prometheus_unreachable_is_inconclusive_never_a_pass(self):
        self.project = self.write_project(self.analysis(ERROR_RATE, "fail_if: '> 0.05'",
                                                        prometheus=f"http://{NET}.101:9"))
        self.commit("v2")
        proc = self.deploy(expect=1)
        measured = self.events(proc.stdout, "analysis")
        self.assertTrue(measured and all(m["verdict"] == "inconclusive" for m in measured), measured)
        self.assertIn("cannot connect", measured[0]["why"])
        verdict = self.events(proc.stdout, "analysis_verdict")[-1]
        self.assertEqual((verdict["verdict"], verdict["action"]), ("inconclusive", "roll back (inconclusive: fail)"))
        self.assertEqual(set(self.serving().values()), {"v1"})


if __name__ == "__main__":
    unittest.main()
