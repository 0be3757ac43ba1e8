"""A record no host can forge: signed snapshots (environments.ENV.recorders).

On real sshd hosts (INT: h01, h02; PROD: h03, h04), one controller (a release
manager's) makes the changes and signs its records; a second one (a CI runner
with an empty state directory, its own key, also a recorder) knows only what
the hosts hold. An ordinary INT host rewrites its copy of a record into a
rehearsal of PROD, or into a backup list naming another host's file: both are
refused. A record altered on one host is shown as disputed; the genuine ones
are verified by the second controller."""
import base64
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import TempDir, VERSION_SERVICE, git, keygen, run, run_json  # noqa: E402

NET = "127.0.63"
DEPLOY_TO = "/srv/signed"




@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class SignedRecordsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(4, NET)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        repo = os.path.join(self.tmp.path, "backend")
        self.repo = repo
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp VERSION svc.py dist/\n")
        self.tmp.write("backend/svc.py", VERSION_SERVICE)
        self.tmp.write("backend/VERSION", "v1\n")
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "v1")
        with open(self.fleet.inventory) as f:
            inventory = f.read()
        hosts = {line.split(":")[0].strip(): line.strip() for line in inventory.splitlines()
                 if "ansible_host:" in line}
        head = inventory.split("  children:")[0]
        for env, names in (("int", ["h01", "h02"]), ("prod", ["h03", "h04"])):
            self.tmp.write(f"{env}.yaml", head + "  children:\n    fleet:\n      hosts:\n" +
                           "".join(f"        {hosts[n]}\n" for n in names))
        self.manager_pub = keygen(os.path.join(self.tmp.path, "manager_key"), "manager")
        self.ci_pub = keygen(os.path.join(self.tmp.path, "ci_key"), "ci")
        self.tmp.write("recorders", f'release-manager namespaces="flotilla-record" {self.manager_pub}\n'
                                    f'ci-runner namespaces="flotilla-record" {self.ci_pub}\n')
        self.manager = self.write_project("manager.yaml", ".flotilla-manager")
        self.ci = self.write_project("ci.yaml", ".flotilla-ci")
        self.flotilla(self.manager, "exec", "--", f"pkill -f 'svc[.]py'; rm -rf {DEPLOY_TO}", env_name="int")
        self.flotilla(self.manager, "exec", "--", f"pkill -f 'svc[.]py'; rm -rf {DEPLOY_TO}", env_name="prod")

    def tearDown(self):
        for env_name in ("int", "prod"):
            self.flotilla(self.manager, "exec", "--", f"pkill -f 'svc[.]py'; rm -rf {DEPLOY_TO}", env_name=env_name)
        self.tmp.cleanup()

    def write_project(self, name, state_dir, recorders=True):
        rec = ", recorders: recorders" if recorders else ""
        return self.tmp.write(name, f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
state_dir: {state_dir}
environments:
  int: {{inventory: int.yaml{rec}}}
  prod: {{inventory: prod.yaml, require_rehearsal: {{in: int, max_age: 7d}}{rec}}}
units:
  game:
    hosts: fleet
    deploy_to: {DEPLOY_TO}
    source: {{repo: backend, build: make, output: dist}}
    run: python3 svc.py {{{{ansible_host}}}}
    health: {{command: "curl -fsS http://{{{{ansible_host}}}}:8080/", timeout: 2s, retries: 40, interval: 100ms}}
    drain: {{timeout: 2s}}
    backup: {{command: "mkdir -p {DEPLOY_TO}/backups && (cat VERSION 2>/dev/null || echo none) > {DEPLOY_TO}/backups/v && echo {DEPLOY_TO}/backups/v"}}
    restore: cp {{{{backup}}}} {DEPLOY_TO}/shared/restored
    rollout: {{canary: 0, batch: 50%, max_unavailable: 50%}}
""")

    def flotilla(self, project, *args, env_name, key="manager_key", limit=None):
        extra = ["-l", limit] if limit else []
        return run("-f", project, "-e", env_name, *extra, *args, cwd=self.tmp.path, timeout=300,
                   env={"FLOTILLA_SIGNING_KEY": os.path.join(self.tmp.path, key)})

    def serves(self, hosts):
        return [http_text(f"http://{NET}.{i}:8080/") for i in hosts]

    def commit(self, text):
        self.tmp.write("backend/VERSION", text + "\n")
        git(self.repo, "commit", "-qam", text)

    def history_of(self, host):
        out = self.flotilla(self.manager, "exec", "--", f"cat {DEPLOY_TO}/.flotilla/history.jsonl",
                            env_name="int", limit=host).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def write_history(self, host, records):
        text = "".join(json.dumps(r) + "\n" for r in records)
        encoded = base64.b64encode(text.encode()).decode()
        proc = self.flotilla(self.manager, "exec", "--",
                             f"echo {encoded} | base64 -d > {DEPLOY_TO}/.flotilla/history.jsonl",
                             env_name="int", limit=host)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_a_forged_rehearsal_or_backup_on_one_int_host_is_refused_by_a_second_controller(self):
        # The release manager rehearses v1 in INT like PROD, then deploys it to PROD.
        proc = self.flotilla(self.manager, "rehearse", "game", "--like", "prod", "--ref", "master", env_name="int")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.flotilla(self.manager, "deploy", "game", "--ref", "master", env_name="prod")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.serves([3, 4]), ["v1", "v1"])

        # v4, an ordinary INT change on h02 only (with a backup that h02 keeps).
        self.commit("v4")
        proc = self.flotilla(self.manager, "--json", "deploy", "game", "--ref", "master", env_name="int", limit="h02")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        ordinary = next(json.loads(l) for l in proc.stdout.splitlines() if '"snapshot"' in l)["id"]

        # h02 rewrites its copy: a succeeded rehearsal of PROD from v1 to v4,
        # with a verified backup "on h01" at /etc/hostname.
        records = self.history_of("h02")
        rehearsal = next(r for r in records if r["kind"] == "rehearsal" and r["outcome"] == "succeeded")
        v1 = rehearsal["rehearsal"]["to"]["release"]
        forged = next(r for r in records if r["id"] == ordinary)
        v4 = forged["artifact"]
        forged["kind"] = "rehearsal"
        forged["rehearsal"] = {"like": "prod", "from": {"release": v1, "config": ""},
                               "to": {"release": v4, "config": ""}}
        forged["backup"] = [{"host": "h01", "ok": True, "location": "/etc/hostname", "verified": True}]
        self.write_history("h02", [forged if r["id"] == ordinary else r for r in records])

        # The CI runner, with an empty state directory, cannot use it.
        proc = self.flotilla(self.ci, "deploy", "game", "--ref", "master", env_name="prod", key="ci_key")
        self.assertEqual(proc.returncode, 2, proc.stdout + proc.stderr)
        self.assertIn("rehears", proc.stderr)
        self.assertEqual(self.serves([3, 4]), ["v1", "v1"])

        proc, doc = run_json("-f", self.ci, "-e", "int", "snapshots", "list", cwd=self.tmp.path,
                             env={"FLOTILLA_SIGNING_KEY": os.path.join(self.tmp.path, "ci_key")})
        by_id = {s["id"]: s for s in doc["snapshots"]}
        self.assertIn("h02", by_id[ordinary].get("disputed", ""), by_id[ordinary])
        self.assertEqual(by_id[ordinary]["outcome"], "disputed")
        # The genuine rehearsal, written by the release manager, verifies for the CI runner.
        self.assertNotIn("disputed", by_id[rehearsal["id"]])
        self.assertEqual(by_id[rehearsal["id"]].get("signer"), "release-manager")

        # The forged backup drives no restore: h01 is not stopped, nothing is copied.
        before = self.flotilla(self.manager, "exec", "--", f"cat {DEPLOY_TO}/.flotilla/pid", env_name="int",
                               limit="h01").stdout
        proc = self.flotilla(self.ci, "restore", "game", "--snapshot", str(ordinary), env_name="int", key="ci_key")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("disputed", proc.stderr)
        after = self.flotilla(self.manager, "exec", "--", f"cat {DEPLOY_TO}/.flotilla/pid; ls {DEPLOY_TO}/shared",
                              env_name="int", limit="h01").stdout
        self.assertEqual(before.split("\n")[1], after.split("\n")[1])
        self.assertNotIn("restored", after)

        # A controller whose key is not a recorder is refused before anything is touched.
        keygen(os.path.join(self.tmp.path, "stranger_key"), "stranger")
        proc = self.flotilla(self.ci, "deploy", "game", "--ref", "master", env_name="int", key="stranger_key")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("recorders", proc.stderr)

    def test_without_recorders_the_plan_says_records_are_unsigned(self):
        legacy = self.write_project("legacy.yaml", ".flotilla-legacy", recorders=False)
        proc = self.flotilla(legacy, "plan", "game", "--ref", "master", "--format", "markdown", env_name="int")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("no recorders", proc.stdout)


if __name__ == "__main__":
    unittest.main()
