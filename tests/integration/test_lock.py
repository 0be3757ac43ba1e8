"""The deploy lock lives on the fleet: concurrent deploys, CI queues, stale holders."""
import json
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import BIN, TempDir, git, run, run_json  # noqa: E402


class LockTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(2, "127.0.19")

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.env = f"locktest{os.getpid()}"
        repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp VERSION dist/\n")
        self.tmp.write("backend/VERSION", "v1\n")
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "v1")
        self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  {self.env}: {{inventory: {self.fleet.inventory}, lock_host: h02}}
units:
  web:
    hosts: fleet
    deploy_to: {self.tmp.path}/srv
    source: {{repo: backend, build: make, output: dist}}
    start: "true"
    stop: "true"
    health: {{command: sleep 2, timeout: 5s}}
""")

    def tearDown(self):
        run("lock", "release", "--force", cwd=self.tmp.path)
        self.tmp.cleanup()

    def test_two_concurrent_deploys_exactly_one_runs(self):
        args = [BIN, "--json", "deploy", "web", "--ref", "master"]
        first = subprocess.Popen(args, cwd=self.tmp.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        second = subprocess.Popen(args, cwd=self.tmp.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = []
        for p in (first, second):
            out, err = p.communicate(timeout=120)
            results.append((p.returncode, out, err))
        codes = sorted(code for code, _, _ in results)
        self.assertEqual(codes, [0, 3], results)
        loser = next(r for r in results if r[0] == 3)
        self.assertIn(f"the deploy lock of '{self.env}' is held by", loser[2])
        self.assertIn("deploy web --ref master", loser[2])
        proc, doc = run_json("lock", "status", cwd=self.tmp.path)
        self.assertFalse(doc["held"])  # released by the winner

    def test_lock_by_hand_blocks_deploys_until_released(self):
        proc = run("lock", "acquire", "-m", "database migration", "--ticket", "OPS-7", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, doc = run_json("lock", "status", cwd=self.tmp.path)
        self.assertTrue(doc["held"])
        self.assertEqual(doc["holder"]["message"], "database migration")
        self.assertEqual(doc["holder"]["ticket"], "OPS-7")
        self.assertNotIn("token", doc["holder"])
        self.assertEqual(run("lock", "acquire", "-m", "again", cwd=self.tmp.path).returncode, 3)
        proc = run("deploy", "web", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 3)
        self.assertIn("database migration", proc.stderr)
        # The lock is on the lock host (h02), in the SSH user's home.
        host_view = subprocess.run(["ls", os.path.join(self.fleet.flotilla_home("h02"), "locks", self.env)],
                                   capture_output=True, text=True)
        self.assertIn("holder.json", host_view.stdout)
        self.assertEqual(run("lock", "release", cwd=self.tmp.path).returncode, 0)
        proc = run("deploy", "web", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_killed_controllers_lock_is_shown_stale_never_taken(self):
        dead = subprocess.Popen(["true"])
        dead.wait()
        holder = {"user": "ci", "controller": socket.gethostname(), "pid": dead.pid, "since": "2026-11-22T03:00:00Z",
                  "ticket": "OPS-1", "message": "deploy web --ref master", "token": "x"}
        lock_dir = os.path.join(self.fleet.flotilla_home("h02"), "locks", self.env)
        os.makedirs(lock_dir)
        with open(os.path.join(lock_dir, "holder.json"), "w") as f:
            json.dump(holder, f)
        proc = run("lock", "status", cwd=self.tmp.path)
        self.assertIn("STALE", proc.stdout)
        proc = run("deploy", "web", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 3)
        self.assertIn("STALE", proc.stderr)
        self.assertEqual(run("lock", "release", cwd=self.tmp.path).returncode, 3)  # not ours
        self.assertEqual(run("lock", "release", "--force", cwd=self.tmp.path).returncode, 0)


if __name__ == "__main__":
    unittest.main()
