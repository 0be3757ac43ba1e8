"""On call: `logs --follow` on a real fleet. Lines appear within seconds, each with its host;
a host whose sshd dies is reported and picked up again when it comes back; the others
never stop; Ctrl-C ends it with exit 0."""
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
from helpers import BIN, TempDir  # noqa: E402

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
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: {self.tmp.path}, build: "true"}}
    run: exec sleep 1000
    logs: [shared/log/*.log]
""")
        for i in range(1, 5):
            os.makedirs(self.log_dir(i), exist_ok=True)
            self.append(i, "before the follow")

    def tearDown(self):
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


if __name__ == "__main__":
    unittest.main()
