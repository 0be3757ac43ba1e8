"""Releases on a real fleet: INT (2 hosts) and PROD (4 hosts in pairs) on separate sshd
hosts, two units. Several units as one release and its undo when one fails; rollback
--release; promote (the same bytes, no build); rehearse (INT reset to PROD's state, then
the change); and PROD's require_rehearsal, which refuses before any host changes."""
import glob
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import TempDir, git, run  # noqa: E402

INT_NET, PROD_NET = "127.0.51", "127.0.52"
PORTS = {"reward": 8111, "payment": 8112}


def read(path):
    with open(path) as f:
        return f.read()


def events(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class ReleaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.int_fleet = Fleet(2, INT_NET)
        cls.prod_fleet = Fleet(4, PROD_NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.int_fleet.stop()
        cls.prod_fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/VERSION", "v0\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v0")
        git(self.repo, "checkout", "-qb", "release/1.0")
        self.commit("v1", "v1")
        self.known_hosts = self.tmp.write(
            "known_hosts", read(self.int_fleet.known_hosts) + read(self.prod_fleet.known_hosts))
        self.deploy_to = f"/srv/rel-{os.getpid()}"
        self.state = os.path.join(self.tmp.path, ".flotilla")

    def tearDown(self):
        for env in ("int", "prod"):
            run("-f", self.project_file(), "-e", env, "exec", "--",
                f"pkill -f 'http[.]server 81'; rm -rf {self.deploy_to}-*", cwd=self.tmp.path)
        self.tmp.cleanup()

    def project_file(self, require_rehearsal=False):
        units = ""
        for unit, port in PORTS.items():
            # A unit whose BROKEN_<UNIT> file exists builds without its health page.
            units += f"""  {unit}:
    hosts: fleet
    deploy_to: {self.deploy_to}-{unit}
    source: {{repo: backend, build: "mkdir -p dist && cp VERSION dist/ && (test -e BROKEN_{unit} || touch dist/ok)", output: dist}}
    run: exec python3 -m http.server {port} --bind {{{{ansible_host}}}}
    health: {{command: "curl -fsS http://{{{{ansible_host}}}}:{port}/ok", timeout: 2s, retries: 15, interval: 100ms}}
    drain: {{timeout: 2s}}
    rollout: {{canary: 1, batch: 50%}}
"""
        rule = "\n    require_rehearsal: {in: int, max_age: 7d}" if require_rehearsal else ""
        return self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.known_hosts}, config: none}}
release_order: [payment, reward]
environments:
  int:
    inventory: {self.int_fleet.inventory}
    branches: ["release/*", master]
  prod:
    inventory: {self.prod_fleet.inventory}
    branches: [master, stable]{rule}
units:
{units}""")

    def flotilla(self, *args, require_rehearsal=False):
        return run("-f", self.project_file(require_rehearsal), *args, cwd=self.tmp.path, timeout=300)

    def commit(self, version, message, broken=None):
        self.tmp.write("backend/VERSION", version + "\n")
        for unit in PORTS:
            path = os.path.join(self.repo, f"BROKEN_{unit}")
            if unit == broken:
                self.tmp.write(f"backend/BROKEN_{unit}", "")
            elif os.path.exists(path):
                os.remove(path)
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", message)

    def serving(self, fleet, unit):
        return [http_text(f"http://{fleet.net}.{i}:{PORTS[unit]}/VERSION") for i in range(1, fleet.count + 1)]

    def current(self, fleet, unit):
        """The release id every host says it runs (its state file)."""
        out = []
        for i in range(1, fleet.count + 1):
            state = os.path.join(fleet.host_dir(f"h{i:02d}"), "srv", os.path.basename(self.deploy_to) + "-" + unit,
                                 ".flotilla", "state.json")
            out.append(json.loads(read(state))["current"]["release"] if os.path.exists(state) else None)
        return out

    def snapshots(self, env):
        paths = sorted(glob.glob(os.path.join(self.state, "snapshots", env, "*.json")),
                       key=lambda p: int(os.path.basename(p)[:-5]))
        return [json.loads(read(p)) for p in paths]

    def test_a_release_is_one_change_and_goes_back_as_one(self):
        git(self.repo, "checkout", "-q", "master")
        git(self.repo, "merge", "-q", "--ff-only", "release/1.0")
        proc = self.flotilla("--json", "-e", "prod", "deploy", "--all", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        lines = events(proc.stdout)
        first = [e for e in lines if e["event"] == "snapshot"]
        self.assertEqual([e["unit"] for e in first], ["payment", "reward"])  # release_order
        release = first[0]["id"]
        after_lock = lines[[e["event"] for e in lines].index("lock_acquired") + 1:]
        self.assertTrue(after_lock and all(e.get("release") == release for e in after_lock), after_lock)
        self.assertEqual(sorted({s["release"] for s in self.snapshots("prod")}), [release])
        v1 = {u: self.current(self.prod_fleet, u) for u in PORTS}
        for unit in PORTS:
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v1"] * 4)

        # Release 2: reward goes first and succeeds; payment's canary fails. Reward goes back.
        self.commit("v2", "v2 with a broken payment", broken="payment")
        proc = self.flotilla("--json", "-e", "prod", "deploy", "reward", "payment", "--ref", "master")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("release", proc.stderr)
        self.assertIn("were sent back", proc.stderr)
        for unit in PORTS:
            self.assertEqual(self.current(self.prod_fleet, unit), v1[unit], unit)
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v1"] * 4, unit)
        kinds = [(s["unit"], s["kind"], s["outcome"]) for s in self.snapshots("prod")[2:]]
        self.assertEqual(kinds, [("reward", "deploy", "succeeded"), ("payment", "deploy", "failed"),
                                 ("reward", "rollback", "succeeded")])
        self.assertEqual(len({s["release"] for s in self.snapshots("prod")[2:]}), 1)

        # Release 3 succeeds; rollback --release takes both units back, in reverse order.
        self.commit("v3", "v3")
        proc = self.flotilla("--json", "-e", "prod", "deploy", "reward", "payment", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        release3 = [e for e in events(proc.stdout) if e["event"] == "snapshot"][0]["id"]
        for unit in PORTS:
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v3"] * 4)
        proc = self.flotilla("--json", "-e", "prod", "rollback", "--release", str(release3))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        back = [e for e in events(proc.stdout) if e["event"] == "snapshot"]
        self.assertEqual([e["unit"] for e in back], ["payment", "reward"])
        for unit in PORTS:
            self.assertEqual(self.current(self.prod_fleet, unit), v1[unit], unit)
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v1"] * 4, unit)
        proc = self.flotilla("-e", "prod", "rollback", "--release", "999")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no release 999", proc.stderr)

    def test_promote_and_rehearse_under_require_rehearsal(self):
        # Promote from an environment that never ran the units: refused, nothing read from a host.
        proc = self.flotilla("-e", "prod", "promote", "reward", "--from", "int")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("int never succeeded with reward", proc.stderr)

        proc = self.flotilla("-e", "int", "deploy", "reward", "payment", "--ref", "release/1.0")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # Production's branch policy holds for a promoted artifact: release/1.0 is not on master yet.
        git(self.repo, "checkout", "-q", "master")
        proc = self.flotilla("-e", "prod", "promote", "reward", "payment", "--from", "int")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("no allowed branch", proc.stderr)
        git(self.repo, "merge", "-q", "--ff-only", "release/1.0")

        # PROD requires a rehearsal: the promote is refused before any host changes.
        proc = self.flotilla("-e", "prod", "promote", "reward", "payment", "--from", "int", require_rehearsal=True)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("prod requires a rehearsal in int", proc.stderr)
        self.assertIn("never rehearsed in int", proc.stderr)
        self.assertRegex(proc.stderr, r"flotilla\.yaml:\d+:\d+:")
        for i in range(1, 5):
            self.assertFalse(glob.glob(os.path.join(self.prod_fleet.host_dir(f"h{i:02d}"), "srv", "rel-*")))

        proc = self.flotilla("-e", "int", "rehearse", "reward", "payment", "--like", "prod", "--from", "int",
                             require_rehearsal=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc = self.flotilla("--json", "-e", "prod", "promote", "payment", "reward", "--from", "int",
                             require_rehearsal=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertFalse([e for e in events(proc.stdout) if "build" in e["event"]])
        for unit in PORTS:
            self.assertEqual(set(self.current(self.prod_fleet, unit)), set(self.current(self.int_fleet, unit)))
            self.assertEqual(len(set(self.current(self.prod_fleet, unit))), 1)
        promoted = self.snapshots("prod")
        self.assertEqual({s["promoted_from"] for s in promoted}, {"int"})
        v1 = {u: self.current(self.prod_fleet, u)[0] for u in PORTS}

        # v2 reaches int through release/2.0 and master; production refuses it unrehearsed.
        git(self.repo, "checkout", "-qb", "release/2.0")
        self.commit("v2", "v2")
        self.assertEqual(self.flotilla("-e", "int", "deploy", "reward", "payment", "--ref", "release/2.0").returncode, 0)
        git(self.repo, "checkout", "-q", "master")
        git(self.repo, "merge", "-q", "--ff-only", "release/2.0")
        proc = self.flotilla("-e", "prod", "deploy", "reward", "payment", "--ref", "master", require_rehearsal=True)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        # The only rehearsals so far started from an empty production.
        self.assertIn("rehearsal 3 started from nothing, but prod now runs", proc.stderr)
        for unit in PORTS:
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v1"] * 4)

        # The rehearsal: int goes back to what prod runs (v1), then takes prod's change (v2).
        proc = self.flotilla("--json", "-e", "int", "rehearse", "reward", "payment", "--like", "prod",
                             "--ref", "master", "--ticket", "REL-2", require_rehearsal=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        steps = [(s["unit"], s["kind"], s["promoted_from"]) for s in self.snapshots("int")[-4:]]
        self.assertEqual(steps, [("reward", "deploy", "prod"), ("payment", "deploy", "prod"),
                                 ("reward", "rehearsal", ""), ("payment", "rehearsal", "")])
        reset = self.snapshots("int")[-4]
        self.assertTrue(all(h["after"] == v1["reward"] for h in reset["hosts"].values()))
        rehearsal = self.snapshots("int")[-2]
        self.assertEqual(rehearsal["rehearsal"]["like"], "prod")
        self.assertEqual(rehearsal["rehearsal"]["from"]["release"], v1["reward"])
        for unit in PORTS:
            self.assertEqual(self.serving(self.int_fleet, unit), ["v2"] * 2)
        record = self.flotilla("-e", "prod", "plan", "reward", "payment", "--ref", "master", "--format", "markdown",
                               require_rehearsal=True)
        self.assertEqual(record.returncode, 0, record.stderr)
        self.assertIn(f"- rehearsed in int: snapshot {rehearsal['id']}", record.stdout)
        proc = self.flotilla("-e", "prod", "deploy", "reward", "payment", "--ref", "master", "--ticket", "REL-2",
                             require_rehearsal=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for unit in PORTS:
            self.assertEqual(self.serving(self.prod_fleet, unit), ["v2"] * 4)
            self.assertEqual(set(self.current(self.prod_fleet, unit)), set(self.current(self.int_fleet, unit)))
        # Under one ticket: the rehearsal on int (reset and apply) and the change on prod.
        proc = run("--json", "-f", self.project_file(True), "-e", "prod", "history", "--ticket", "REL-2",
                   cwd=self.tmp.path)
        trail = [(s["environment"], s["kind"]) for s in json.loads(proc.stdout)["history"]]
        self.assertEqual(trail, [("prod", "deploy")] * 2 + [("int", "rehearsal")] * 2 + [("int", "deploy")] * 2)

        # v3 rehearsed from v2; then production changes (a rollback is never blocked): the
        # rehearsal started from a state production no longer runs, and no longer counts.
        self.commit("v3", "v3")
        proc = self.flotilla("-e", "int", "rehearse", "reward", "--like", "prod", "--ref", "master",
                             require_rehearsal=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.flotilla("-e", "prod", "rollback", "reward", require_rehearsal=True).returncode, 0)
        proc = self.flotilla("-e", "prod", "deploy", "reward", "--ref", "master", require_rehearsal=True)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("prod changed since", proc.stderr)
        record = self.flotilla("-e", "prod", "plan", "reward", "--ref", "master", "--format", "markdown",
                               require_rehearsal=True)
        self.assertIn("- NOT rehearsed: rehearsal", record.stdout)

        # A CI runner with an empty state directory: int's history comes from int's hosts, the
        # artifact from int's hosts too — checked against its id, so a host whose copy was
        # altered is passed over.
        payment = self.current(self.int_fleet, "payment")[0]
        altered = os.path.join(self.int_fleet.host_dir("h01"), "srv", os.path.basename(self.deploy_to) + "-payment",
                               "releases", payment, "VERSION")
        with open(altered, "w") as f:
            f.write("evil\n")
        ci = self.tmp.write("flotilla-ci.yaml", read(self.project_file(True)).replace(
            "release_order:", "state_dir: ci-state\nrelease_order:"))
        proc = run("-f", ci, "-e", "prod", "promote", "payment", "--from", "int", cwd=self.tmp.path, timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"release {payment[:12]} from h01: its files are not release", proc.stderr)
        self.assertIn(f"release {payment[:12]} taken from h02", proc.stdout)
        self.assertIn("nothing to do", proc.stdout)  # prod already runs it
        self.assertTrue(os.path.exists(os.path.join(self.tmp.path, "ci-state", "artifacts", "objects",
                                                    payment + ".tar.zst")))
        self.assertEqual(self.serving(self.prod_fleet, "reward"), ["v1"] * 4)


if __name__ == "__main__":
    unittest.main()
