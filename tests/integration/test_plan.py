"""`flotilla plan` reads the real hosts (state and content store) and plans
batches; it changes nothing on them."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import TempDir, git, run, run_json  # noqa: E402


class PlanTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(8, "127.0.15", pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.deploy_to = os.path.join(self.tmp.path, "srv", "reward")  # shared by the loopback hosts
        repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp a b dist/\n")
        self.tmp.write("backend/a", "A" * 1000)
        self.tmp.write("backend/b", "B" * 500)
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "v1")
        self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
  prod: {{inventory: {self.fleet.inventory}, branches: [stable], require_ticket: true}}
units:
  reward:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: backend, build: make, output: dist}}
    run: ./a
    rollout: {{canary: 1, batch: 25%, max_unavailable: 25%}}
""")

    def tearDown(self):
        self.tmp.cleanup()

    def plan(self, *args):
        return run_json("-e", "dev", "plan", "reward", "--ref", "master", *args, cwd=self.tmp.path)

    def test_plan_on_a_fresh_fleet(self):
        proc, plan = self.plan()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(plan["hosts"]), 8)
        self.assertTrue(all(h["change"] and h["current"] is None for h in plan["hosts"]))
        self.assertEqual(plan["bytes_to_send"], 8 * 1500)
        self.assertEqual(plan["batches"][0], {"canary": True, "hosts": ["h01"]})
        pair = {f"h{i:02d}": (i + 1) // 2 for i in range(1, 9)}
        seen = []
        for batch in plan["batches"]:
            self.assertLessEqual(len(batch["hosts"]), 2)  # 25% of 8
            pairs = [pair[h] for h in batch["hosts"]]
            self.assertEqual(len(pairs), len(set(pairs)))
            seen += batch["hosts"]
        self.assertEqual(sorted(seen), [f"h{i:02d}" for i in range(1, 9)])
        # Nothing was written anywhere on the hosts.
        self.assertFalse(os.path.exists(self.deploy_to))

    def test_plan_reads_what_hosts_run_and_hold(self):
        proc, plan = self.plan()
        artifact = plan["artifact"]
        with open(os.path.join(self.tmp.path, ".flotilla", "artifacts", "objects",
                               artifact + ".manifest.json")) as f:
            manifest = json.load(f)
        a_sha = next(f["sha256"] for f in manifest["files"] if f["path"] == "a")
        os.makedirs(os.path.join(self.deploy_to, ".flotilla", "store"))
        with open(os.path.join(self.deploy_to, ".flotilla", "state.json"), "w") as f:
            json.dump({"current": {"release": artifact}}, f)
        open(os.path.join(self.deploy_to, ".flotilla", "store", a_sha), "w").close()
        proc, plan = self.plan()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(all(not h["change"] and h["current"] == artifact for h in plan["hosts"]))
        self.assertEqual(plan["batches"], [])
        proc = run("-e", "dev", "plan", "reward", "--ref", "master", cwd=self.tmp.path)
        self.assertIn("every host already runs this release", proc.stdout)
        # Another release running: every host changes, and only b must be sent.
        with open(os.path.join(self.deploy_to, ".flotilla", "state.json"), "w") as f:
            json.dump({"current": {"release": "0" * 64}}, f)
        proc, plan = self.plan()
        self.assertTrue(all(h["change"] and h["files_to_send"] == 1 and h["bytes_to_send"] == 500
                            for h in plan["hosts"]))

    def test_policy_and_unreachable_hosts(self):
        proc, _ = run_json("-e", "prod", "plan", "reward", "--ref", "master", "--ticket", "OPS-1", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("may not be deployed here", proc.stderr)
        proc, _ = run_json("-e", "prod", "plan", "reward", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.fleet.kill_host("h08")
        try:
            proc, plan = run_json("-e", "dev", "--connect-timeout", "2s", "plan", "reward", "--ref", "master",
                                  cwd=self.tmp.path)
            self.assertEqual(proc.returncode, 4)
            h08 = next(h for h in plan["hosts"] if h["host"] == "h08")
            self.assertIn("connect", h08["error"])
        finally:
            subprocess.run([os.path.join(os.environ.get("FLOTILLA_SOURCE", "."), "scripts", "fleet.sh"), "start",
                            self.fleet.dir, "-n", "8", "--net", "127.0.15", "--pairs"], capture_output=True)


if __name__ == "__main__":
    unittest.main()
