"""The README's "your own fleet in five minutes" runs as written (issue 31):
its commands, read from README.md itself, in a scratch service repository
with an inventory of 4 real sshd hosts in 2 pairs, a HOME whose
~/.ssh/known_hosts knows them, and `flotilla` on PATH. After each deploy and
the rollback, every host is asked over HTTP what it serves."""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import BIN, SOURCE, TempDir, VERSION_SERVICE, git  # noqa: E402

NET = "127.0.68"
HOSTS = 4


def walkthrough_blocks():
    """The fenced blocks that follow a `<!-- walkthrough` marker, in order: (language, lines)."""
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    blocks = re.findall(r"<!-- walkthrough[^>]*-->\n```(\w+)\n(.*?)```", text, re.S)
    return [(lang, body.splitlines()) for lang, body in blocks]


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class WalkthroughTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        home = os.path.join(self.tmp.path, "home")
        os.makedirs(os.path.join(home, ".ssh"))
        shutil.copy(self.fleet.known_hosts, os.path.join(home, ".ssh", "known_hosts"))
        self.repo = os.path.join(self.tmp.path, "my-game-server")
        self.tmp.write("my-game-server/Makefile", "all:\n\tmkdir -p dist && cp VERSION server.py dist/\n")
        self.tmp.write("my-game-server/server.py", VERSION_SERVICE)
        self.tmp.write("my-game-server/VERSION", "v1\n")
        os.makedirs(os.path.join(self.repo, "inventories"))
        shutil.copy(self.fleet.inventory, os.path.join(self.repo, "inventories", "prod.yaml"))
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.env = dict(os.environ, HOME=home, PATH=os.path.dirname(BIN) + os.pathsep + os.environ["PATH"],
                        GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
                        GIT_COMMITTER_EMAIL="t@t")

    def tearDown(self):
        subprocess.run([BIN, "-f", os.path.join(self.repo, "flotilla.yaml"), "-e", "prod", "exec", "--",
                        "pkill -f 'server[.]py'; rm -rf /srv/app"], env=self.env, capture_output=True)
        self.tmp.cleanup()

    def served(self):
        return [http_text(f"http://{NET}.{i}:8080/") for i in range(1, HOSTS + 1)]

    def edit_unit(self, lines):
        """Replaces the unit's lines that the README's block names (same key, same indent)."""
        path = os.path.join(self.repo, "flotilla.yaml")
        with open(path) as f:
            project = f.read()
        for line in lines:
            key = re.match(r"(\s+[a-z_]+):", line).group(1)
            project, n = re.subn(rf"^{key}:.*$", lambda _: line, project, count=1, flags=re.M)
            self.assertEqual(n, 1, f"init wrote no line for{key}")
        with open(path, "w") as f:
            f.write(project)

    def test_the_readme_walkthrough_runs_as_written(self):
        blocks = walkthrough_blocks()
        self.assertEqual([lang for lang, _ in blocks], ["sh", "yaml", "sh"])
        cwd = self.tmp.path
        deploys = iter(["v1", "v2", "v1"])  # what each deploy, then the rollback, leaves served
        ran = []
        for lang, lines in blocks:
            if lang == "yaml":
                self.edit_unit(lines)
                continue
            for line in lines:
                command = line.split("  #")[0].strip()
                if not command or command.startswith("#"):
                    continue
                if command.startswith("cd "):
                    cwd = os.path.join(cwd, command[3:])
                    continue
                if command.startswith("git commit"):
                    with open(os.path.join(cwd, "VERSION"), "w") as f:
                        f.write("v2\n")
                proc = subprocess.run(["sh", "-c", command], cwd=cwd, env=self.env, capture_output=True,
                                      text=True, timeout=300)
                self.assertEqual(proc.returncode, 0, f"{command}\n{proc.stdout}\n{proc.stderr}")
                ran.append(command.split()[1] if command.startswith("flotilla") else command.split()[0])
                if " deploy " in command or " rollback " in command:
                    expected = next(deploys)
                    self.assertEqual(self.served(), [expected] * HOSTS, f"after: {command}\n{proc.stderr}")
        self.assertEqual(ran, ["init", "doctor", "plan", "deploy", "status", "git", "rollback"])
        with open(os.path.join(cwd, "flotilla.yaml")) as f:
            project = f.read()
        self.assertIn("pair_key: flotilla_pair", project)  # the fleet's pairs were found


if __name__ == "__main__":
    unittest.main()
