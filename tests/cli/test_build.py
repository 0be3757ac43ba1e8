"""`flotilla build` against real git repositories made by the test."""
import hashlib
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, git, run, run_json  # noqa: E402

PROJECT = """environments:
  dev: {inventory: inv.yaml, branches: ["*"]}
  int: {inventory: inv.yaml, branches: ["release/*", master]}
  prod: {inventory: inv.yaml, branches: [master, stable], require_ticket: true}
units:
  reward:
    source: {repo: backend, build: make reward, output: dist/reward}
    run: bin/reward
  hostile:
    source: {repo: backend, build: sh evil.sh, output: out}
    run: bin/x
"""
MAKEFILE = "reward:\n\tmkdir -p dist/reward/bin\n\tcp src/app.sh dist/reward/bin/reward\n\tchmod +x dist/reward/bin/reward\n" \
           "\tcp -r assets dist/reward/assets\n\tln -sf bin/reward dist/reward/current-binary\n"


class BuildTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.tmp.write("flotilla.yaml", PROJECT)
        self.tmp.write("inv.yaml", "all: {hosts: {a: }}\n")
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", MAKEFILE)
        self.tmp.write("backend/src/app.sh", "echo v1\n")
        self.tmp.write("backend/assets/a.txt", "asset\n")
        self.tmp.write("backend/evil.sh", "mkdir -p out && echo ok > out/file\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        git(self.repo, "branch", "stable")
        git(self.repo, "branch", "release/1.0")
        git(self.repo, "checkout", "-qb", "feature/login")
        self.tmp.write("backend/src/app.sh", "echo login\n")
        git(self.repo, "commit", "-qam", "login")
        self.feature_commit = git(self.repo, "rev-parse", "HEAD")
        git(self.repo, "checkout", "-q", "master")
        self.objects = os.path.join(self.tmp.path, ".flotilla", "artifacts", "objects")

    def tearDown(self):
        self.tmp.cleanup()

    def build(self, env, ref, *extra):
        return run_json("-e", env, "build", "reward", "--ref", ref, *extra, cwd=self.tmp.path)

    def stored(self):
        return sorted(os.listdir(self.objects)) if os.path.isdir(self.objects) else []

    def test_same_commit_same_id_and_cache_hit(self):
        proc, first = self.build("dev", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(first["cached"])
        self.assertEqual(first["branch"], "master")
        self.assertEqual(first["commit"], git(self.repo, "rev-parse", "master"))
        self.assertEqual(first["files"], 5)  # assets/, assets/a.txt, bin/, bin/reward, current-binary
        proc, second = self.build("dev", "master")
        self.assertTrue(second["cached"])
        self.assertEqual(second["id"], first["id"])
        # The text form prints the id alone on stdout.
        proc = run("-e", "dev", "build", "reward", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.stdout.strip(), first["id"])

    def test_rebuild_is_byte_identical(self):
        _, first = self.build("dev", "master")
        digest = hashlib.sha256(open(first["archive"], "rb").read()).hexdigest()
        proc, again = self.build("dev", "master", "--rebuild")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse(again["cached"])
        self.assertEqual(hashlib.sha256(open(again["archive"], "rb").read()).hexdigest(), digest)
        listing = subprocess.run(["tar", "--zstd", "-tvf", again["archive"]], capture_output=True, text=True).stdout
        self.assertIn("0/0", listing)
        self.assertIn("1970-01-01", listing)
        self.assertIn("current-binary -> bin/reward", listing)

    def test_new_commit_new_id(self):
        _, first = self.build("dev", "master")
        self.tmp.write("backend/src/app.sh", "echo v2\n")
        git(self.repo, "commit", "-qam", "v2")
        proc, second = self.build("dev", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotEqual(second["id"], first["id"])
        self.assertFalse(second["cached"])

    def test_branch_policy(self):
        proc, doc = self.build("dev", "feature/login")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, _ = self.build("prod", "feature/login", "--ticket", "OPS-1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("branch 'feature/login' may not be deployed here: environment 'prod' takes branches "
                      "master, stable", proc.stderr)
        self.assertIn("flotilla.yaml:4:3", proc.stderr)
        proc, _ = self.build("int", "release/1.0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # A build changes no fleet: production builds are made ahead of
        # time, without the ticket the change will carry (v2 contract).
        proc, _ = self.build("prod", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, _ = self.build("prod", "stable", "--ticket", "OPS-1")
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_commits_and_tags_need_an_allowed_branch(self):
        master = git(self.repo, "rev-parse", "master")
        proc, doc = self.build("prod", master[:10], "--ticket", "OPS-2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIsNone(doc["branch"])
        proc, _ = self.build("prod", self.feature_commit[:10], "--ticket", "OPS-2")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("is on no allowed branch (it is on feature/login)", proc.stderr)
        git(self.repo, "tag", "v1.0", "master")
        proc, doc = self.build("prod", "v1.0", "--ticket", "OPS-2")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["tag"], "v1.0")

    def test_missing_and_ambiguous_refs(self):
        for ref in ("nosuch", "feature/none", "deadbeef00", "-oops"):
            with self.subTest(ref):
                proc, _ = self.build("dev", ref)
                self.assertEqual(proc.returncode, 2)
                self.assertIn("error:", proc.stderr)
        git(self.repo, "tag", "stable", self.feature_commit)  # a tag named like a branch, elsewhere
        proc, _ = self.build("dev", "stable")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("ambiguous", proc.stderr)
        proc, doc = self.build("dev", "heads/stable")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.stored(), sorted([doc["id"] + ".manifest.json", doc["id"] + ".tar.zst"]))

    def test_failed_build_shows_its_log_and_stores_nothing(self):
        self.tmp.write("backend/Makefile", "reward:\n\techo compiling\n\techo 'error: missing semicolon' >&2\n\texit 3\n")
        git(self.repo, "commit", "-qam", "broken")
        proc, _ = self.build("dev", "master")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("failed (exit 2)", proc.stderr)  # make's own exit status
        self.assertIn("missing semicolon", proc.stderr)
        self.assertEqual(self.stored(), [])
        builds = os.path.join(self.tmp.path, ".flotilla", "builds")
        self.assertEqual([d for d in os.listdir(builds) if os.path.isdir(os.path.join(builds, d)) and d != "home"], [])

    def test_build_environment_is_controlled(self):
        self.tmp.write("backend/Makefile", "reward:\n\tmkdir -p dist/reward && env | sort > dist/reward/env\n")
        git(self.repo, "commit", "-qam", "env")
        env = dict(os.environ, PAY_STORE_KEY="hunter2-secret")
        proc = subprocess.run([os.environ.get("FLOTILLA_BIN"), "--json", "-e", "dev", "build", "reward", "--ref", "master"],
                              cwd=self.tmp.path, env=env, capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        archive = json.loads(proc.stdout)["archive"]
        listing = subprocess.run(["tar", "--zstd", "-xOf", archive, "env"], capture_output=True, text=True).stdout
        self.assertNotIn("hunter2", listing)
        self.assertIn("FLOTILLA_BRANCH=master", listing)
        self.assertIn("SOURCE_DATE_EPOCH=", listing)

    def test_hostile_build_outputs_are_refused(self):
        cases = {
            "absolute symlink": "mkdir -p out && ln -s /etc/passwd out/pw",
            "escaping symlink": "mkdir -p out/a && ln -s ../../../etc out/a/up",
            "fifo": "mkdir -p out && mkfifo out/pipe",
            "newline name": "mkdir -p out && touch \"$(printf 'out/a\\nb')\"",
            "missing output": "true",
        }
        for name, script in cases.items():
            with self.subTest(name):
                self.tmp.write("backend/evil.sh", script + "\n")
                git(self.repo, "commit", "-qam", name)
                proc, _ = run_json("-e", "dev", "build", "hostile", "--ref", "master", cwd=self.tmp.path)
                self.assertEqual(proc.returncode, 1, proc.stderr)
                self.assertEqual(self.stored(), [])


if __name__ == "__main__":
    unittest.main()
