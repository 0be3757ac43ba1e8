"""ssh_config as OpenSSH reads it: `flotilla inventory list --resolved` must
agree with `ssh -G` (the oracle) on where and as whom each host is reached.
Skips when the OpenSSH client is absent."""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, run, run_json  # noqa: E402

SSH = shutil.which("ssh")

CONFIGS = {
    "comments_case_brackets_and_repeats": """
Host web1 # a comment, not patterns
    User from-web1
Host Web2
    User upper-only
Host w[1]
    Port 2201
Host db? !db9
    HostName %h.internal
    Port=2202
Host *
    IdentityFile ~/.ssh/shared
    IdentityFile ~/.ssh/shared
    IdentityFile "/keys/with space"
    User fallback
""",
    "first_value_wins_and_jumps": """
Host gs-*.kr
    User deploy
    ProxyJump ops@bastion.kr:2022
Host gs-01.kr
    User other
    Port 2200
Host bastion.kr
    HostName 10.0.0.1
Host *
    Port 22
""",
}

HOSTS = ["web1", "web2", "Web2", "comment", "w1", "db1", "db9", "gs-01.kr", "gs-02.kr", "other"]


def ssh_g(config, host):
    out = subprocess.run([SSH, "-G", "-F", config, host], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    seen = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        seen.setdefault(key, []).append(value)
    return seen


def expand(path):
    return os.path.expanduser(path)


class SshConfigOracleTest(unittest.TestCase):
    def setUp(self):
        if not SSH:
            self.skipTest("ssh not installed")
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_resolved_connections_match_ssh_g(self):
        for name, text in CONFIGS.items():
            with self.subTest(name):
                config = self.tmp.write(f"{name}.cfg", text)
                inventory = self.tmp.write(f"{name}.yaml", "all:\n  hosts:\n" +
                                           "".join(f"    {h}:\n" for h in HOSTS))
                proc, doc = run_json("-i", inventory, "--ssh-config", config, "inventory", "list",
                                     "--resolved")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                for host in HOSTS:
                    theirs = ssh_g(config, host)
                    ours = doc["hosts"][host]["ssh"]
                    where = f"{name}: {host}"
                    self.assertEqual(ours["hostname"].lower(), theirs["hostname"][0], where)
                    self.assertEqual(ours["port"], int(theirs["port"][0]), where)
                    self.assertEqual(ours["user"], theirs["user"][0], where)
                    if "IdentityFile" in text:
                        self.assertEqual(ours["identity_files"], [expand(f) for f in theirs["identityfile"]],
                                         where)
                    if "proxyjump" in theirs:
                        user, _, rest = theirs["proxyjump"][0].partition("@")
                        self.assertIsNotNone(ours["proxy_jump"], where)
                        self.assertTrue(ours["proxy_jump"].startswith(user + "@"), where)
                    else:
                        self.assertIsNone(ours["proxy_jump"], where)

    def test_directives_flotilla_cannot_honour_are_located_errors(self):
        inventory = self.tmp.write("inv.yaml", "all:\n  hosts:\n    web1:\n    other:\n")
        config = self.tmp.write("proxy.cfg", "Host web1\n    ProxyCommand nc %h %p\nHost *\n    User u\n")
        proc = run("-i", inventory, "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f"{config}:2:5: ProxyCommand cannot be honoured", proc.stderr)
        # Where it does not apply, it is no error; ProxyCommand none is fine.
        proc = run("-i", inventory, "-l", "other", "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        config = self.tmp.write("exec.cfg", "Match host other exec \"test -f /x\"\n    User x\n")
        proc = run("-i", inventory, "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f"{config}:1:1: Match exec cannot be honoured", proc.stderr)
        self.assertIn("(host other)", proc.stderr)  # web1 never reaches the exec


if __name__ == "__main__":
    unittest.main()
