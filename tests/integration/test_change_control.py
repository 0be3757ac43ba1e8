"""Change control on a real fleet: the change record from `plan`, approvals
signed with real OpenSSH keys (ssh-keygen -Y) and kept on the lock host,
freeze windows. Nothing about an approval is taken from the host but the
signed bytes."""
import datetime
import glob
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import TempDir, git, keygen, run, run_json  # noqa: E402

NET = "127.0.48"
PORT = 8098


def read(path):
    with open(path) as f:
        return f.read()


def newest_snapshot(state_dir, env):
    return json.loads(read(sorted(glob.glob(os.path.join(state_dir, "snapshots", env, "*.json")),
                                  key=lambda p: int(os.path.basename(p)[:-5]))[-1]))



@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class ChangeControlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(2, NET)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/VERSION", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "first version")
        self.keys = {}
        lines = []
        for name in ("alice", "bob", "mallory"):
            path = os.path.join(self.tmp.path, "keys", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            pub = keygen(path, name)
            self.keys[name] = path
            if name != "mallory":
                lines.append(f'{name}@studio namespaces="flotilla-approval" {pub}')
        # The key the requester logs in with is an approver too: it must still never count.
        client = read(os.path.join(self.fleet.dir, "client_key.pub")).strip()
        lines.append(f'deployer@studio namespaces="flotilla-approval" {client}')
        self.tmp.write("allowed_signers", "\n".join(lines) + "\n")
        self.deploy_to = f"/srv/web-cc-{os.getpid()}"
        now = datetime.datetime.now(datetime.timezone.utc)
        frozen_from = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        frozen_to = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # A window that opens while a change waits for the lock.
        self.opens_at = now + datetime.timedelta(seconds=15)
        opens = self.opens_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
approvers: allowed_signers
environments:
  prod:
    inventory: {self.fleet.inventory}
    require_ticket: true
    approvals: 2
  dev:
    inventory: {self.fleet.inventory}
    freeze:
      - {{from: "{frozen_from}", to: "{frozen_to}", reason: launch week}}
      - {{weekly: "Fri 18:00-Mon 09:00", tz: Asia/Seoul, reason: weekend}}
  staging:
    inventory: {self.fleet.inventory}
    freeze:
      - {{from: "{opens}", to: "{frozen_to}", reason: opens soon}}
units:
  web:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: backend, build: "mkdir -p dist && cp VERSION dist/", output: dist}}
    run: exec python3 -m http.server {PORT} --bind {{{{ansible_host}}}}
    health: {{command: "curl -fsS http://{{{{ansible_host}}}}:{PORT}/VERSION", timeout: 2s, retries: 25, interval: 100ms}}
    drain: {{timeout: 2s}}
    backup: {{command: "true"}}
""")

    def tearDown(self):
        run("-f", self.project, "-e", "dev", "exec", "--", f"pkill -f 'http[.]server {PORT}'; rm -rf {self.deploy_to}")
        run("-f", self.project, "-e", "dev", "exec", "--", "rm -rf ~/.flotilla/approvals/prod")
        self.tmp.cleanup()

    def flotilla(self, *args):
        return run("-f", self.project, *args, cwd=self.tmp.path, timeout=300)

    def approve(self, who, ticket="DA-001", message=""):
        return self.flotilla("-e", "prod", "approve", ticket, "web", "--ref", "master", "--key", self.keys[who],
                             *(["-m", message] if message else []))

    def lock_host_approvals(self):
        return glob.glob(os.path.join(self.fleet.flotilla_home("h01"), "approvals", "prod", "DA-001", "*.json"))

    def test_approvals_gate_production_and_the_change_record_says_what_is_missing(self):
        deploy = ["-e", "prod", "deploy", "web", "--ref", "master", "--ticket", "DA-001"]
        proc = self.flotilla(*deploy)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("prod needs 2 approval(s)", proc.stderr)
        self.assertIn("0 of 2 approvals", proc.stderr)
        for h in ("h01", "h02"):  # refused before any host changed: nothing was put there
            self.assertFalse(os.path.exists(os.path.join(self.fleet.host_dir(h), "srv",
                                                         os.path.basename(self.deploy_to))))

        proc = self.approve("alice", message="ok after QA sign-off")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("alice@studio approved plan", proc.stdout)
        proc = self.approve("mallory")  # not an approver: kept, never counted
        self.assertEqual(proc.returncode, 2)
        self.assertIn("not in the approvers file", proc.stderr)
        proc = self.flotilla("-e", "prod", "approve", "DA-001", "web", "--ref", "master",
                             "--key", os.path.join(self.fleet.dir, "client_key"))
        self.assertEqual(proc.returncode, 0, proc.stderr)  # a valid signature, by the requester's own key

        # A signature for another namespace, and a tampered payload, planted on the lock host.
        payload = self.tmp.write("other.json", read(self.lock_host_approvals()[0]))
        subprocess.run(["ssh-keygen", "-q", "-Y", "sign", "-f", self.keys["bob"], "-n", "git", payload], check=True)
        doc = json.loads(read(payload))
        planted = os.path.join(os.path.dirname(self.lock_host_approvals()[0]), "planted.json")
        with open(planted, "w") as f:
            json.dump({"payload": doc["payload"], "signature": read(payload + ".sig")}, f)
        original = json.loads(read(sorted(self.lock_host_approvals())[0]))
        tampered = dict(original, payload=original["payload"].replace("DA-001", "DA-002"))
        with open(os.path.join(os.path.dirname(planted), "tampered.json"), "w") as f:
            json.dump(tampered, f)

        proc, doc = run_json("-f", self.project, "-e", "prod", "approvals", "list", "DA-001")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        valid = sorted(a["principal"] for a in doc["approvals"] if a["valid"])
        self.assertEqual(valid, ["alice@studio", "deployer@studio"])
        self.assertEqual(sum(1 for a in doc["approvals"] if not a["valid"]), 3)

        # The change record: ticket, digest, scope, steps, the exact rollback, what is missing.
        proc = self.flotilla("-e", "prod", "plan", "web", "--ref", "master", "--ticket", "DA-001",
                             "--format", "markdown")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        record = proc.stdout
        digest = self.flotilla("-e", "prod", "plan", "web", "--ref", "master", "--ticket", "DA-001",
                               "--digest").stdout.strip()
        self.assertRegex(digest, "^[0-9a-f]{64}$")
        self.assertIn(f"| plan digest | `{digest}` |", record)
        for section in ("## What changes", "first version", "## Scope: 2 of 2 host(s) change", "## Steps",
                        "## Rollback plan", "## Approvals", "alice@studio", "ok after QA sign-off",
                        "requester's own key", "## Freeze", "## Still missing before it may run",
                        "approvals: 1 of 2", "- `h01`", "- `h02`", "`true` runs before any host changes"):
            self.assertIn(section, record)

        proc = self.flotilla(*deploy)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("1 of 2 approvals (alice@studio)", proc.stderr)
        self.assertIn("deployer@studio: signed with the requester's own key", proc.stderr)
        self.assertIn("not in the approvers file", proc.stderr)
        self.assertIn("does not verify", proc.stderr)

        self.assertEqual(self.approve("bob").returncode, 0)
        proc = self.flotilla("--json", *deploy)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        snapshot = newest_snapshot(os.path.join(self.tmp.path, ".flotilla"), "prod")
        self.assertEqual(sorted(a["principal"] for a in snapshot["approvals"]), ["alice@studio", "bob@studio"])
        self.assertEqual(snapshot["plan_digest"], digest)

        # The next change is another plan: the approvals of this one do not carry over.
        self.tmp.write("backend/VERSION", "v2\n")
        git(self.repo, "commit", "-qam", "second version")
        proc = self.flotilla(*deploy)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("and the plan is now", proc.stderr)
        self.assertEqual(self.approve("alice").returncode, 0)
        self.assertEqual(self.approve("bob").returncode, 0)
        proc = self.flotilla(*deploy)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # A rollback is never held up by approvals: nobody approved this one.
        proc = self.flotilla("-e", "prod", "rollback", "web")
        self.assertEqual(proc.returncode, 0, proc.stderr)

        # Metrics on a CI runner with an empty state directory: the fleet's copies count.
        ci = self.tmp.write("flotilla-ci.yaml", read(self.project).replace(
            "approvers: allowed_signers", "approvers: allowed_signers\nstate_dir: ci-runner-state"))
        proc = run("--json", "-f", ci, "-e", "prod", "metrics", "--since", "1d", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        metrics = json.loads(proc.stdout)
        self.assertEqual(metrics["deploys"]["count"], 2)
        self.assertEqual(metrics["failed_changes"], [metrics["deploys"]["ids"][1]])  # rolled back
        self.assertAlmostEqual(metrics["change_failure_rate"], 0.5)
        self.assertEqual(len(metrics["lead_time_s"]["ids"]), 2)

        # Under one ticket: the changes and the approval trail.
        proc, doc = run_json("-f", self.project, "-e", "prod", "history", "--ticket", "DA-001", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(len(doc["history"]), 2)
        signers = sorted(a["principal"] for a in doc["approvals"] if a["valid"])
        self.assertEqual(signers.count("alice@studio"), 2)  # one per plan approved
        self.assertIn("bob@studio", signers)

    def test_freeze_windows_refuse_deploys_unless_overridden_and_never_rollback_or_hotfix(self):
        proc = self.flotilla("-e", "dev", "deploy", "web", "--ref", "master")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        # Both windows hold on a Korean weekend (Fri 18:00 KST is Fri 09:00 UTC): either may be named.
        self.assertRegex(proc.stderr, r"dev is frozen \((launch week|weekend):")
        self.assertIn("--override-freeze", proc.stderr)
        proc = self.flotilla("-e", "dev", "plan", "web", "--ref", "master", "--format", "markdown")
        self.assertRegex(proc.stdout, r"FROZEN now: (launch week|weekend)")
        self.assertIn("the freeze to end", proc.stdout)
        proc = self.flotilla("-e", "dev", "deploy", "web", "--ref", "master", "--override-freeze", "INC-9 fix")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        snapshot = newest_snapshot(os.path.join(self.tmp.path, ".flotilla"), "dev")
        self.assertEqual(snapshot["override_freeze"], "INC-9 fix")
        self.tmp.write("backend/VERSION", "v2\n")
        git(self.repo, "commit", "-qam", "the fix")
        proc = self.flotilla("-e", "dev", "hotfix", "web", "--ref", "master", "--ticket", "INC-9")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.flotilla("-e", "dev", "rollback", "web")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_change_queued_for_the_lock_is_checked_again_when_it_gets_it(self):
        # Someone holds staging's lock; a deploy queues before the window opens.
        proc = self.flotilla("-e", "staging", "lock", "acquire", "-m", "maintenance")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        queued = subprocess.Popen([os.environ["FLOTILLA_BIN"], "-f", self.project, "-e", "staging", "deploy",
                                   "web", "--ref", "master", "--lock-wait", "2m"], cwd=self.tmp.path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            while datetime.datetime.now(datetime.timezone.utc) < self.opens_at + datetime.timedelta(seconds=1):
                time.sleep(0.2)
            self.assertIsNone(queued.poll(), "the deploy should still be waiting for the lock")
            proc = self.flotilla("-e", "staging", "lock", "release")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            out, err = queued.communicate(timeout=120)
        finally:
            if queued.poll() is None:
                queued.kill()
        self.assertEqual(queued.returncode, 2, err)
        self.assertIn("staging is frozen (opens soon", err)
        # Nothing changed: no release was switched on any host.
        proc = self.flotilla("-e", "staging", "exec", "--", f"test ! -e {self.deploy_to}/current")
        self.assertEqual(proc.returncode, 0, proc.stdout)
        # ...and the lock is free again.
        proc, doc = run_json("-f", self.project, "-e", "staging", "lock", "status", cwd=self.tmp.path)
        self.assertFalse(doc["held"])

    def test_config_push_is_frozen_like_a_deploy(self):
        proc = self.flotilla("-e", "dev", "config", "push", "web")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("dev is frozen", proc.stderr)


if __name__ == "__main__":
    unittest.main()
