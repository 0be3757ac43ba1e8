"""`flotilla build` from an SSH git remote: the remote's host key is checked
against known_hosts before anything is fetched (libgit2 checks none unless told)."""
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import BIN, TempDir, git  # noqa: E402


class GitRemoteTest(unittest.TestCase):
    def setUp(self):
        self.fleet = Fleet(1, "127.0.13")
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp app dist/app\n")
        self.tmp.write("backend/app", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        self.tmp.write("flotilla.yaml", f"""environments:
  dev: {{inventory: inv.yaml}}
units:
  app:
    source: {{repo: "ssh://{user}@127.0.13.1:2222{self.repo}", build: make, output: dist}}
    run: ./app
""")
        self.tmp.write("inv.yaml", "all: {hosts: {a: }}\n")
        home = os.path.join(self.tmp.path, "home")
        os.makedirs(os.path.join(home, ".ssh"))
        key = os.path.join(home, ".ssh", "id_ed25519")
        shutil.copy(os.path.join(self.fleet.dir, "client_key"), key)
        os.chmod(key, 0o600)
        self.env = dict(os.environ, HOME=home)
        self.env.pop("SSH_AUTH_SOCK", None)

    def tearDown(self):
        self.fleet.stop()
        self.tmp.cleanup()

    def build(self, known_hosts):
        return subprocess.run([BIN, "--known-hosts", known_hosts, "build", "app", "--ref", "master"],
                              cwd=self.tmp.path, env=self.env, capture_output=True, text=True, timeout=120)

    def test_unknown_remote_host_key_is_refused(self):
        empty = self.tmp.write("empty_known_hosts", "")
        proc = self.build(empty)
        self.assertEqual(proc.returncode, 4, proc.stderr)
        self.assertIn("unknown host key for git remote 127.0.13.1", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp.path, ".flotilla", "artifacts")))

    def test_fetch_build_and_refetch(self):
        proc = self.build(self.fleet.known_hosts)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        first = proc.stdout.strip()
        self.tmp.write("backend/app", "v2\n")
        git(self.repo, "commit", "-qam", "v2")
        proc = self.build(self.fleet.known_hosts)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotEqual(proc.stdout.strip(), first)
        self.assertIn("Accepted publickey", self.fleet.log("h01"))


if __name__ == "__main__":
    unittest.main()
