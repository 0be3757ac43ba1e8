"""Where and as whom Ansible connects: flotilla's `inventory list --resolved`
must name the address, port, user and key that Ansible's ssh plugin puts on
the ssh command line (`ansible -vvv`, the oracle). The hosts are loopback
addresses where nothing listens, so Ansible's attempt fails at once."""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, run, run_json  # noqa: E402

ANSIBLE = shutil.which("ansible")


def ansible_ssh_line(inventory, host, cwd):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="false",
               ANSIBLE_SSH_RETRIES="0", ANSIBLE_TIMEOUT="2", ANSIBLE_DEPRECATION_WARNINGS="false",
               ANSIBLE_SSH_ARGS="-o ControlMaster=no")
    proc = subprocess.run([ANSIBLE, "-i", inventory, host, "-m", "ping", "-vvv"], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=120)
    for line in proc.stdout.splitlines():
        if "SSH: EXEC" in line:
            return line
    raise AssertionError(f"no ssh command line from ansible for {host}: {proc.stdout}{proc.stderr}")


def option(line, name):
    found = re.findall(r"-o '?" + name + r"=\"?([^'\" ]+)", line)
    return found[0] if found else None


INVENTORY = """
[game]
old-only ansible_ssh_host=127.0.9.1 ansible_ssh_user=olduser ansible_ssh_port=2201
both ansible_host=127.0.9.9 ansible_ssh_host=127.0.9.2 ansible_user=new ansible_ssh_user=old
keyed ansible_host=127.0.9.3 ansible_private_key_file=/keys/new ansible_ssh_private_key_file=/keys/old
newkey ansible_host=127.0.9.4 ansible_private_key_file=/keys/only-new

[game:vars]
ansible_ssh_port=2202
"""

HOST_VARS = {"both": "ansible_port: 2299\n", "keyed": "ansible_port: 2203\n"}


class AnsibleConnectionTest(unittest.TestCase):
    def setUp(self):
        if not ANSIBLE:
            self.skipTest("ansible not installed (apt-get install ansible)")
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_older_connection_names_win_as_in_ansible(self):
        inventory = self.tmp.write("inv/hosts.ini", INVENTORY)
        for host, text in HOST_VARS.items():
            self.tmp.write(f"inv/host_vars/{host}.yml", text)
        proc, doc = run_json("-i", inventory, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for host in ["old-only", "both", "keyed", "newkey"]:
            with self.subTest(host):
                line = ansible_ssh_line(inventory, host, self.tmp.path)
                ours = doc["hosts"][host]["ssh"]
                self.assertEqual(ours["hostname"], re.findall(r"ConnectTimeout=\d+ (\S+) '/bin/sh", line)[0], line)
                self.assertEqual(str(ours["port"]), option(line, "Port"), line)
                if option(line, "User"):
                    self.assertEqual(ours["user"], option(line, "User"), line)
                key = re.findall(r"-o '?IdentityFile=\"?([^'\" ]+)", line)
                if key:
                    self.assertEqual(ours["identity_files"][0], key[0], line)
        # The facts behind the oracle, said plainly: [game:vars]
        # ansible_ssh_port beats a host_vars ansible_port.
        self.assertEqual(doc["hosts"]["both"]["ssh"]["port"], 2202)
        self.assertEqual(doc["hosts"]["both"]["ssh"]["user"], "old")
        self.assertEqual(doc["hosts"]["keyed"]["ssh"]["identity_files"][0], "/keys/old")

    def test_a_password_under_any_name_is_refused(self):
        for name in ["ansible_password", "ansible_ssh_pass", "ansible_ssh_password"]:
            inventory = self.tmp.write(f"{name}.ini", f"web1 ansible_host=127.0.9.5 {name}=hunter22\n")
            proc = run("-i", inventory, "inventory", "list", "--resolved")
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(f"host web1: {name}: flotilla signs in with keys only", proc.stderr)
            self.assertNotIn("hunter22", proc.stderr + proc.stdout)

    def test_bytes_values_are_strings_as_in_ansible_inventory(self):
        inventory = self.tmp.write("bytes.ini", "web1 a=b'x' b=b\"two words\" c=B'q' d=\"b'one'\"\n"
                                                  "[all:vars]\ne = b'two'\nf = b'x' 'y'\n")
        env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="ini")
        theirs = json.loads(subprocess.run([shutil.which("ansible-inventory"), "-i", inventory, "--list"],
                                           capture_output=True, text=True, env=env, check=True,
                                           timeout=120).stdout)["_meta"]["hostvars"]["web1"]
        proc, ours = run_json("-i", inventory, "inventory", "list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(ours["hosts"]["web1"]["vars"], theirs)
        # A host line is shell-split first (b'x' is bx); a vars line is not.
        self.assertEqual((theirs["a"], theirs["d"], theirs["e"]), ("bx", "one", "two"))


if __name__ == "__main__":
    unittest.main()
