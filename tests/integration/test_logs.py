"""On call on a real fleet. `logs --follow`: lines appear within seconds, each with its host;
a host whose sshd dies is reported and picked up again when it comes back; the others
never stop; Ctrl-C ends it with exit 0. The patrol (`--since --count --max`): the built-in
supervisor stamps every line, and matches are counted per host in the window."""
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import FLEET_SH, Fleet  # noqa: E402
from helpers import BIN, TempDir, git, run  # noqa: E402

NET = "127.0.57"


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class LogsFollowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(4, NET)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.deploy_to = f"/srv/logs-{os.getpid()}"
        # A game server that logs one failed purchase at start, five on NET.3.
        self.tmp.write("svc/serve.sh", 'n=1; case $1 in *.3) n=5 ;; esac\n'
                                       'i=0; while [ $i -lt $n ]; do echo "ERROR purchase $i failed"; i=$((i+1)); done\n'
                                       'echo "INFO ready" >&2\nexec sleep 1000\n')
        self.repo = os.path.join(self.tmp.path, "svc")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "server")
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: svc, build: "mkdir -p dist && cp serve.sh dist/", output: dist}}
    run: exec sh serve.sh {{{{ansible_host}}}}
    drain: {{timeout: 1s}}
    logs: [shared/log/*.log]
""")
        for i in range(1, 5):
            os.makedirs(self.log_dir(i), exist_ok=True)
            self.append(i, "before the follow")

    def tearDown(self):
        run("-f", self.project, "-e", "dev", "exec", "--",
            f"kill $(cat {self.deploy_to}/.flotilla/pid 2>/dev/null) 2>/dev/null; rm -rf {self.deploy_to}")
        self.tmp.cleanup()

    def log_dir(self, i):
        return os.path.join(self.fleet.host_dir(f"h{i:02d}"), "srv", os.path.basename(self.deploy_to),
                            "shared", "log")

    def append(self, i, text):
        with open(os.path.join(self.log_dir(i), "game.log"), "a") as f:
            f.write(text + "\n")

    def follow(self, *args):
        proc = subprocess.Popen([BIN, "-f", self.project, "-e", "dev", "--json", "logs", "game", "-f", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        events = queue.Queue()

        def read():
            for line in proc.stdout:
                events.put(json.loads(line))
        threading.Thread(target=read, daemon=True).start()
        return proc, events

    def wait_for(self, events, predicate, timeout):
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                event = events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(event)
            if predicate(event):
                return event
        self.fail(f"not within {timeout}s; saw {seen}")

    def test_follow_merges_every_host_and_survives_one_that_dies(self):
        proc, events = self.follow()
        try:
            following = set()
            while len(following) < 4:
                following.add(self.wait_for(events, lambda e: e["event"] == "following", 20)["host"])
            start = time.monotonic()
            self.append(3, "ERROR: a player fell through the world")
            line = self.wait_for(events, lambda e: e["event"] == "line", 2)
            self.assertLess(time.monotonic() - start, 2)
            self.assertEqual((line["host"], line["file"], line["text"]),
                             ("h03", "shared/log/game.log", "ERROR: a player fell through the world"))

            # h02's machine vanishes: reported, retried; the others keep streaming.
            self.fleet.kill_host("h02")
            lost = self.wait_for(events, lambda e: e["event"] == "host_lost", 10)
            self.assertEqual(lost["host"], "h02")
            self.append(1, "still here")
            self.assertEqual(self.wait_for(events, lambda e: e["event"] == "line", 3)["host"], "h01")
            subprocess.run([FLEET_SH, "revive", self.fleet.dir, "h02"], check=True, capture_output=True)
            self.assertEqual(self.wait_for(events, lambda e: e["event"] == "host_back", 20)["host"], "h02")
            self.append(2, "back in business")
            line = self.wait_for(events, lambda e: e["event"] == "line", 3)
            self.assertEqual((line["host"], line["text"]), ("h02", "back in business"))
        finally:
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=20), 0)

    def test_grep_filters_on_the_host(self):
        proc, events = self.follow("--grep", "ERROR|FATAL")
        try:
            for _ in range(4):
                self.wait_for(events, lambda e: e["event"] == "following", 20)
            self.append(4, "INFO all good")
            self.append(4, "FATAL out of memory")
            line = self.wait_for(events, lambda e: e["event"] == "line", 3)
            self.assertEqual(line["text"], "FATAL out of memory")
        finally:
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(timeout=20), 0)

    def test_the_patrol_counts_stamped_matches_per_host_in_the_window(self):
        proc = run("-f", self.project, "-e", "dev", "deploy", "game", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # The supervisor stamped every line the server wrote, stdout and stderr alike.
        with open(os.path.join(self.log_dir(3), "game.log")) as f:
            lines = [line for line in f.read().splitlines() if "purchase" in line or "ready" in line]
        self.assertEqual(len(lines), 6)
        for line in lines:
            self.assertRegex(line, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (ERROR purchase \d failed|INFO ready)$")
        self.append(1, "2020-01-01T00:00:00Z ERROR long ago")  # outside any recent window
        self.append(1, "ERROR without a stamp")  # never counted: it has no time

        patrol = ["-f", self.project, "-e", "dev", "--json", "logs", "game", "--grep", "ERROR", "--since", "10m",
                  "--count"]
        proc = run(*patrol, "--max", "3", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        doc = json.loads(proc.stdout)
        self.assertEqual({h: v["count"] for h, v in doc["hosts"].items()}, {"h01": 1, "h02": 1, "h03": 5, "h04": 1})
        self.assertEqual(doc["over"], ["h03"])
        self.assertEqual(len(doc["hosts"]["h03"]["lines"]), 3)
        self.assertTrue(doc["hosts"]["h03"]["lines"][-1].endswith("ERROR purchase 4 failed"))
        self.assertEqual(run(*patrol, "--max", "5", cwd=self.tmp.path).returncode, 0)
        proc = run(*[a if a != "10m" else "4000d" for a in patrol], cwd=self.tmp.path)
        self.assertEqual(json.loads(proc.stdout)["hosts"]["h01"]["count"], 2)
        # A host that cannot be read is one line and exit 1, the others are still counted.
        run("-f", self.project, "-e", "dev", "-l", "h04", "exec", "--", f"rm -rf {self.deploy_to}/shared/log")
        proc = run("-f", self.project, "-e", "dev", "logs", "game", "--grep", "ERROR", "--since", "10m", "--count",
                   cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 1)
        self.assertRegex(proc.stdout, r"h04 +\? +cannot read: no log files match")
        self.assertRegex(proc.stdout, r"h03 +5")


if __name__ == "__main__":
    unittest.main()
