"""`flotilla init` (issue 31) in directories laid out as public Ansible
repositories lay them out: the best-practices inventories/ENV/hosts tree with
group_vars, a lone INI `hosts` file with ranges and children, ansible.cfg
naming a YAML inventory. The project it writes must pass `inventory check`
for every environment, its unit's group must be one ansible-inventory itself
lists with hosts, and it never overwrites a file."""
import json
import os
import shutil
import subprocess
import sys
import unittest

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import SOURCE, TempDir, run, run_json  # noqa: E402

ANSIBLE_INVENTORY = shutil.which("ansible-inventory")


def ansible_groups(inventory, cwd):
    proc = subprocess.run([ANSIBLE_INVENTORY, "-i", inventory, "--list"], capture_output=True, text=True,
                          cwd=cwd, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)

    def hosts_of(group):
        entry = doc.get(group, {})
        return set(entry.get("hosts", [])) | {h for c in entry.get("children", []) for h in hosts_of(c)}

    return hosts_of


class InitTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def init(self, *args):
        return run_json("init", *args, cwd=self.tmp.path)

    def project(self):
        with open(os.path.join(self.tmp.path, "flotilla.yaml")) as f:
            return yaml.safe_load(f)

    def check_every_environment(self, project):
        for env in project["environments"]:
            proc = run("-e", env, "inventory", "check", cwd=self.tmp.path)
            self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_best_practices_tree_one_environment_per_directory(self):
        # The layout of Ansible's "Best Practices" (inventories/production/hosts ...).
        for env, prefix in (("production", "prod"), ("staging", "stg")):
            self.tmp.write(f"inventories/{env}/hosts", f"""
[gameservers]
{prefix}-gs[01:04].example.net

[gameservers:children]
gameservers_eu

[gameservers_eu]
{prefix}-eu-gs01.example.net

[dbservers]
{prefix}-db01.example.net

[{env}:children]
gameservers
dbservers
""")
            self.tmp.write(f"inventories/{env}/group_vars/gameservers.yml", "ntp_server: ntp.example.net\n")
            self.tmp.write(f"inventories/{env}/host_vars/{prefix}-gs01.example.net.yml",
                           "redundancy_pair: eu-1\n")
        proc, doc = self.init()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        project = self.project()
        self.assertEqual(project["environments"]["production"],
                         {"inventory": "inventories/production", "branches": ["master", "stable"]})
        self.assertEqual(project["environments"]["staging"]["branches"], ["release/*", "master"])
        unit = project["units"]["app"]
        self.assertEqual(unit["hosts"], "gameservers")
        self.assertEqual(unit["rollout"]["pair_key"], "redundancy_pair")  # from host_vars
        hosts_of = ansible_groups("inventories/production", self.tmp.path)
        self.assertEqual(len(hosts_of(unit["hosts"])), 5)
        self.check_every_environment(project)

    def test_a_lone_hosts_file_and_ansible_cfg(self):
        self.tmp.write("hosts", """
mail.example.com

[webservers]
www[1:3].example.com http_port=8080

[dbservers]
db-[a:c].example.com
""")
        proc, doc = self.init()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        project = self.project()
        self.assertEqual(list(project["environments"]), ["prod"])  # a generic name is prod
        self.assertEqual(project["units"]["app"]["hosts"], "webservers")
        self.assertNotIn("pair_key", project["units"]["app"]["rollout"])
        self.check_every_environment(project)

        other = TempDir()
        try:
            other.write("ansible.cfg", "[defaults]\nhost_key_checking = True\ninventory = ./inv/dev.yml\n")
            other.write("inv/dev.yml", "all:\n  children:\n    game:\n      hosts:\n"
                                       "        dev-1: {ansible_host: 10.0.0.1, flotilla_pair: p1}\n")
            proc, doc = run_json("init", cwd=other.path)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(doc["environments"], [{"name": "dev", "inventory": "./inv/dev.yml"}])
            self.assertEqual(doc["unit_hosts"], "game")
            self.assertEqual(doc["pair_key"], "flotilla_pair")
            with open(os.path.join(other.path, "flotilla.yaml")) as f:
                self.assertEqual(yaml.safe_load(f)["environments"]["dev"]["branches"], ["*"])
        finally:
            other.cleanup()

    def test_never_overwrites_and_says_what_is_missing(self):
        proc = run("init", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no Ansible inventory in", proc.stderr)
        self.assertIn("-i", proc.stderr)
        self.tmp.write("hosts", "[game]\ngs1\n")
        self.tmp.write("flotilla.yaml", "# mine\n")
        proc = run("init", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("flotilla.yaml: already exists; init never overwrites", proc.stderr)
        with open(os.path.join(self.tmp.path, "flotilla.yaml")) as f:
            self.assertEqual(f.read(), "# mine\n")
        # A broken inventory is located, and nothing is written.
        os.remove(os.path.join(self.tmp.path, "flotilla.yaml"))
        self.tmp.write("hosts", "[game\ngs1\n")
        proc = run("init", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertRegex(proc.stderr, r"hosts:\d+:\d+: ")
        self.assertFalse(os.path.exists(os.path.join(self.tmp.path, "flotilla.yaml")))

    def test_from_example_copies_the_launch_project_and_never_overwrites(self):
        proc, doc = self.init("--from-example", "launch")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("flotilla.yaml", doc["files"])
        self.assertIn("inventories/prod.yaml", doc["files"])
        with open(os.path.join(SOURCE, "examples", "launch", "flotilla.yaml")) as a, \
                open(os.path.join(self.tmp.path, "flotilla.yaml")) as b:
            self.assertEqual(a.read(), b.read())
        # A second time: refused, and the edited copy is kept as it is.
        self.tmp.write("inventories/dev.yaml", "# edited\n")
        proc = run("init", "--from-example", "launch", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("already exists", proc.stderr)
        self.assertIn("nothing was copied", proc.stderr)
        with open(os.path.join(self.tmp.path, "inventories/dev.yaml")) as f:
            self.assertEqual(f.read(), "# edited\n")
        proc = run("init", "--from-example", "../../etc", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no example project '../../etc' (examples: launch)", proc.stderr)


if __name__ == "__main__":
    unittest.main()
