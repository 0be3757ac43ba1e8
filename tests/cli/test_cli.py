"""The real binary end to end: JSON documents, exit codes, one-line errors."""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, run, run_json  # noqa: E402

LOCATED = re.compile(r"^error: (\S+):(\d+):(\d+): \S")

PROJECT = """project: dragon
environments:
  dev: {inventory: dev.yaml}
  prod: {inventory: prod.yaml, branches: [master, stable], require_ticket: true}
units:
  reward:
    kind: reward
    hosts: reward
    run: bin/reward
"""
DEV = """all:
  children:
    reward:
      hosts:
        rw[01:02]: {flotilla_pair: p1}
"""
PROD = """all:
  vars: {ansible_user: deploy}
  children:
    reward:
      hosts:
        gs[01:04].kr:
    gm:
      hosts: {gm01: {ansible_host: 10.1.0.5, ansible_port: 2200}}
"""


class CliTest(unittest.TestCase):
    def setUp(self):
        self.tmp = TempDir()
        self.tmp.write("flotilla.yaml", PROJECT)
        self.tmp.write("dev.yaml", DEV)
        self.tmp.write("prod.yaml", PROD)

    def tearDown(self):
        self.tmp.cleanup()

    def assert_located_error(self, proc, path_suffix=None):
        self.assertEqual(proc.returncode, 2, proc.stderr)
        lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
        self.assertTrue(lines, proc.stderr)
        self.assertRegex(lines[0], LOCATED)
        if path_suffix:
            self.assertIn(path_suffix, lines[0])
        return lines[0]

    def test_version_and_help(self):
        self.assertEqual(run("--version").returncode, 0)
        self.assertIn("flotilla", run("--version").stdout)
        for args in (["--help"], ["inventory", "--help"], ["inventory", "list", "--help"],
                     ["exec", "--help"]):
            proc = run(*args)
            self.assertEqual(proc.returncode, 0, args)
            self.assertIn("Usage", proc.stdout)

    def test_usage_errors_exit_2(self):
        self.assertEqual(run().returncode, 2)
        self.assertEqual(run("nosuchcommand").returncode, 2)
        self.assertEqual(run("inventory").returncode, 2)

    def test_inventory_list_json_shape(self):
        proc, doc = run_json("-e", "prod", "inventory", "list", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(set(doc), {"hosts", "groups"})
        self.assertEqual(doc["hosts"]["gm01"]["vars"],
                         {"ansible_host": "10.1.0.5", "ansible_port": 2200, "ansible_user": "deploy"})
        self.assertEqual(doc["hosts"]["gs01.kr"]["groups"], ["reward"])
        self.assertEqual(doc["groups"]["reward"], ["gs01.kr", "gs02.kr", "gs03.kr", "gs04.kr"])
        self.assertEqual(len(doc["groups"]["all"]), 5)

    def test_limit_filters_and_empty_match_is_exit_2(self):
        proc, doc = run_json("-e", "prod", "-l", "reward:!gs02.kr", "inventory", "list", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(sorted(doc["hosts"]), ["gs01.kr", "gs03.kr", "gs04.kr"])
        self.assertEqual(doc["groups"]["reward"], ["gs01.kr", "gs03.kr", "gs04.kr"])
        proc = run("-e", "prod", "-l", "nosuch", "inventory", "list", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("matches no hosts", proc.stderr)

    def test_environment_must_be_chosen_and_known(self):
        proc = run("inventory", "list", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("-e", proc.stderr)
        self.assertEqual(run("-e", "staging", "inventory", "list", cwd=self.tmp.path).returncode, 2)

    def test_inventory_check_ok_and_json(self):
        proc = run("inventory", "check", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, doc = run_json("inventory", "check", cwd=self.tmp.path)
        self.assertTrue(doc["ok"])
        self.assertEqual(doc["hosts"], 7)

    def test_inventory_check_reports_every_error_located(self):
        self.tmp.write("flotilla.yaml", PROJECT.replace("kind: reward", "kind: reward\n    helth: x"))
        self.tmp.write("prod.yaml", PROD + "  hosts: [a]\n")
        proc = run("inventory", "check", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("unknown key 'helth' in units.reward, did you mean 'health'?", proc.stderr)
        proc = run("-e", "prod", "inventory", "check", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)

    def test_lone_inventory_needs_no_project(self):
        other = TempDir()
        try:
            path = other.write("inv.yaml", DEV)
            proc, doc = run_json("-i", path, "inventory", "list", cwd=other.path)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(sorted(doc["hosts"]), ["rw01", "rw02"])
            self.assertEqual(run("-i", path, "inventory", "check", cwd=other.path).returncode, 0)
        finally:
            other.cleanup()

    def test_json_mode_keeps_stdout_clean_on_error(self):
        path = self.tmp.write("bad.yaml", "all:\n  hosts: [\n")
        proc = run("--json", "-i", path, "inventory", "list")
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stdout, "")

    def test_hostile_and_broken_inventories(self):
        cases = {
            "malformed": "all:\n  hosts: {a: [}\n",
            "empty": "",
            "dash_host": "all:\n  hosts:\n    -oProxyCommand=sh:\n",
            "meta_host": "all:\n  hosts:\n    'gs01;reboot':\n",
            "newline_host": "all:\n  hosts:\n    \"gs01\\nx\":\n",
            "dash_user": "all:\n  vars:\n    ansible_user: -oProxyCommand=x\n  hosts: {a: }\n",
            "meta_user": "all:\n  vars:\n    ansible_user: \"$(reboot)\"\n  hosts: {a: }\n",
            "recursive_alias": "all: &a\n  children: *a\n",
            "self_alias": "all: &a [*a]\n",
            "nested": "[" * 20000 + "]" * 20000,
            "laughs": "".join(f"l{i}: &l{i} [" + ", ".join([f"*l{i-1}"] * 9 if i else ["lol"] * 9) + "]\n"
                              for i in range(10)),
            "bad_range": "all:\n  hosts:\n    gs[01:100]:\n",
        }
        for name, text in cases.items():
            with self.subTest(name):
                path = self.tmp.write(name + ".yaml", text)
                start = time.monotonic()
                proc = run("-i", path, "inventory", "check")
                self.assertLess(time.monotonic() - start, 5)
                line = self.assert_located_error(proc, name + ".yaml")
                self.assertEqual(len([l for l in proc.stderr.splitlines() if l.startswith("error:")]), 1)
                self.assertNotIn("\n", line)

    def test_huge_file_is_refused_quickly(self):
        path = os.path.join(self.tmp.path, "huge.yaml")
        with open(path, "w") as f:
            f.write("all:\n  hosts:\n")
            chunk = "".join(f"    h{i}: {{x: {'y' * 80}}}\n" for i in range(1000))
            while f.tell() < 100 * 1024 * 1024:
                f.write(chunk)
        start = time.monotonic()
        proc = run("-i", path, "inventory", "check")
        self.assertLess(time.monotonic() - start, 2)
        line = self.assert_located_error(proc, "huge.yaml:1:1")
        self.assertIn("too large", line)

    def test_project_file_errors(self):
        cases = {
            "unknown key": ("units:\n  r: {kinnd: reward}\nenvironments: {}\n", "did you mean 'kind'"),
            "duplicate": ("units: {}\nenvironments: {}\nunits: {}\n", "duplicate key 'units'"),
            "wrong type": ("units: {r: {keep_releases: [1]}}\nenvironments: {}\n", "expected a whole number"),
            "empty": ("", "empty project file"),
        }
        for name, (text, expected) in cases.items():
            with self.subTest(name):
                self.tmp.write("flotilla.yaml", text)
                proc = run("inventory", "check", cwd=self.tmp.path)
                line = self.assert_located_error(proc, "flotilla.yaml")
                self.assertIn(expected, proc.stderr)

    def test_exec_needs_a_command_and_a_fleet(self):
        self.assertEqual(run("-e", "dev", "exec", cwd=self.tmp.path).returncode, 2)
        proc = run("-e", "dev", "exec", "--timeout", "soon", "--", "true", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("--timeout", proc.stderr)


if __name__ == "__main__":
    unittest.main()
