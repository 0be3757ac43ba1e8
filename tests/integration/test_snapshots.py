"""Snapshots on a fleet of real sshd hosts (root: each host has its own /srv):
rollback without rebuilding, after a failed deploy, to a pruned release;
config pushes that reload without restart; hotfix policy; backups; status
drift; a second controller that rebuilds history from the fleet."""
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import TempDir, git, run, run_json  # noqa: E402

NET = "127.0.25"
HOSTS = 4  # two redundant pairs
DEPLOY_TO = "/srv/game"

# A real service: /version from its release, /config from shared/config
# (read at start and again on SIGHUP), /pid.
SERVICE = r'''
import http.server, os, signal, sys
host, root = sys.argv[1], sys.argv[2]
state = {}
def load(*_):
    try:
        state["motd"] = open(os.path.join(root, "shared/config/motd.txt")).read().strip()
    except OSError:
        state["motd"] = ""
load()
signal.signal(signal.SIGHUP, load)
version = open("VERSION").read().strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/version": version, "/config": state["motd"], "/pid": str(os.getpid())}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body.encode())
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((host, 8080), H).serve_forever()
'''


def get(i, path):
    return http_text(f"http://{NET}.{i}:8080{path}")


def snapshot_id(evs):
    return next(e for e in evs if e["event"] == "snapshot")["id"]


def events(proc):
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class SnapshotTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist/assets && cp VERSION service.py dist/ && cp -r assets dist/\n")
        self.tmp.write("backend/service.py", SERVICE)
        self.tmp.write("backend/VERSION", "v1\n")
        for i in range(20):
            self.tmp.write(f"backend/assets/a{i}.dat", f"asset {i}\n" * 5000)
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        git(self.repo, "branch", "stable")
        self.tmp.write("config/motd.txt", "hello\n")
        self.project = self.write_project(".flotilla")
        self.exec("pkill -f 'service[.]py' ; rm -rf /srv/game /srv/broken-* /srv/nobackup /srv/backups "
                  "/srv/unrestorable")

    def write_project(self, state_dir, name="flotilla.yaml"):
        return self.tmp.write(name, f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
state_dir: {state_dir}
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet
    deploy_to: {DEPLOY_TO}
    keep_releases: 2
    source: {{repo: backend, build: make, output: dist}}
    run: exec python3 service.py {{{{ansible_host}}}} {{{{deploy_to}}}}
    config: {{files: ["config/*.txt"], check: 'test -s "$FLOTILLA_CONFIG_DIR/motd.txt"'}}
    backup:
      command: 'test ! -e /srv/nobackup && mkdir -p /srv/backups && echo state > /srv/backups/game-{{{{host}}}}.dump && echo /srv/backups/game-{{{{host}}}}.dump'
      verify: 'test -s {{{{backup}}}} && test ! -e /srv/unrestorable'
      hosts: h01
    health:
      command: test ! -e /srv/broken-$(cat VERSION) && curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/version
      timeout: 2s
      retries: 30
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {{canary: 0, batch: 50%, max_unavailable: 50%}}
""")

    def tearDown(self):
        self.exec("pkill -f 'service[.]py' ; rm -rf /srv/game /srv/broken-* /srv/nobackup /srv/backups "
                  "/srv/unrestorable")
        self.tmp.cleanup()

    def flotilla(self, *args, project=None, timeout=300):
        return run("-f", project or self.project, *args, cwd=self.tmp.path, timeout=timeout)

    def exec(self, command, limit=None):
        args = ["exec", "--", command] if limit is None else ["-l", limit, "exec", "--", command]
        return run("--ssh-config", "none", "-f", os.path.join(self.tmp.path, "flotilla.yaml"), *args)

    def change(self, *args, project=None):
        proc = self.flotilla("--json", *args, project=project)
        return proc, events(proc)

    def commit(self, text):
        self.tmp.write("backend/VERSION", text + "\n")
        git(self.repo, "commit", "-qam", text)

    def deploy_ok(self):
        """Deploys master; returns its snapshot id (ids continue across tests: the
        counter lives on the fleet)."""
        proc, evs = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return snapshot_id(evs)

    def versions(self):
        return [get(i, "/version") for i in range(1, HOSTS + 1)]

    def test_rollback_sends_nothing_and_a_second_rollback_goes_further_back(self):
        ids = []
        for v in ("v1", "v2", "v3"):
            if v != "v1":
                self.commit(v)
            ids.append(self.deploy_ok())
        self.assertEqual(self.versions(), ["v3"] * HOSTS)

        proc, evs = self.change("rollback", "game")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.versions(), ["v2"] * HOSTS)
        plan = next(e for e in evs if e["event"] == "plan")
        self.assertEqual(plan["bytes_to_send"], 0)
        self.assertEqual(plan["restores"], ids[1])
        self.assertNotIn("host_push", [e["event"] for e in evs])  # not one artifact byte

        # From v2 (restored #2), the previous good one is #1: v1.
        first_rollback = snapshot_id(evs)
        proc, evs = self.change("rollback", "game")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.versions(), ["v1"] * HOSTS)

        # v1 had been pruned (keep_releases: 2) and came back from the artifact store.
        plan = next(e for e in evs if e["event"] == "plan")
        self.assertGreater(plan["bytes_to_send"], 0)

        proc, doc = run_json("-f", self.project, "snapshots", "list", cwd=self.tmp.path)
        kinds = [(s["id"], s["kind"], s["outcome"], s["restores"]) for s in doc["snapshots"]]
        self.assertEqual(kinds, [(ids[0], "deploy", "succeeded", None), (ids[1], "deploy", "succeeded", None),
                                 (ids[2], "deploy", "succeeded", None),
                                 (first_rollback, "rollback", "succeeded", ids[1]),
                                 (snapshot_id(evs), "rollback", "succeeded", ids[0])])
        self.assertEqual(ids, sorted(ids))

    def test_rollback_after_a_failed_deploy_skips_it(self):
        good = self.deploy_ok()
        self.commit("v2")
        # v2 fails its health check on h04 only. Batches are (h01, h03), (h02, h04):
        # the first stays on v2, the second (h04 failed, h02 in flight) is rolled back.
        self.exec("touch /srv/broken-v2", limit="h04")
        proc, evs = self.change("deploy", "game", "--ref", "master")
        failed = snapshot_id(evs)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertEqual(self.versions(), ["v2", "v1", "v2", "v1"])
        self.exec("rm -f /srv/broken-v2")

        proc, evs = self.change("rollback", "game")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(next(e for e in evs if e["event"] == "plan")["restores"], good)
        self.assertEqual(self.versions(), ["v1"] * HOSTS)
        proc, doc = run_json("-f", self.project, "snapshots", "show", str(failed), cwd=self.tmp.path)
        self.assertEqual(doc["outcome"], "failed")
        self.assertEqual(doc["hosts"]["h04"]["outcome"], "rolled back")
        # Naming a failed snapshot is refused.
        proc = self.flotilla("rollback", "game", "--to", str(failed))
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("failed", proc.stderr)

    def test_config_push_reloads_without_restart_and_rolls_back(self):
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        pids = [get(i, "/pid") for i in range(1, HOSTS + 1)]
        self.assertEqual([get(i, "/config") for i in range(1, HOSTS + 1)], ["hello"] * HOSTS)

        self.tmp.write("config/motd.txt", "double gems weekend\n")
        proc, evs = self.change("config", "push", "game", "--ticket", "EV-7")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([get(i, "/config") for i in range(1, HOSTS + 1)], ["double gems weekend"] * HOSTS)
        self.assertEqual([get(i, "/pid") for i in range(1, HOSTS + 1)], pids)  # no restart

        proc, _ = self.change("rollback", "game")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([get(i, "/config") for i in range(1, HOSTS + 1)], ["hello"] * HOSTS)
        self.assertEqual([get(i, "/pid") for i in range(1, HOSTS + 1)], pids)

        # A config its check refuses never reaches the service.
        self.tmp.write("config/motd.txt", "")
        proc, _ = self.change("config", "push", "game")
        self.assertEqual(proc.returncode, 1)
        self.assertEqual([get(i, "/config") for i in range(1, HOSTS + 1)], ["hello"] * HOSTS)

    def test_status_reports_drift_and_a_second_controller_sees_the_same_fleet(self):
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.commit("v2")
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        proc, doc = run_json("-f", self.project, "status", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        hosts = doc["units"][0]["hosts"]
        self.assertEqual([h["drift"] for h in hosts], [[]] * HOSTS)
        self.assertEqual({h["health"] for h in hosts}, {"ok"})

        # Behind flotilla's back: h02's `current` now points at the old release.
        self.exec(f"cd {DEPLOY_TO} && ln -sfn releases/$(python3 -c \"import json;print(json.load(open('.flotilla/state.json'))['previous']['release'])\") current", limit="h02")
        proc, doc = run_json("-f", self.project, "status", "game", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 1)
        drift = {h["host"]: h["drift"] for h in doc["units"][0]["hosts"]}
        self.assertTrue(drift["h02"], drift)
        self.assertEqual([drift[h] for h in ("h01", "h03", "h04")], [[], [], []])

        # A second controller, empty ledger: the same history, from the fleet.
        other = self.write_project(".other-controller", "other.yaml")
        _, mine = run_json("-f", self.project, "history", cwd=self.tmp.path)
        proc, theirs = run_json("-f", other, "history", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        strip = lambda doc: [(s["id"], s["kind"], s["artifact"], s["outcome"], sorted(s["hosts"]))  # noqa: E731
                             for s in doc["history"]]
        self.assertEqual(strip(theirs), strip(mine))
        self.assertEqual(len(theirs["history"]), 2)
        # ... and it can roll back from it (v1 is still on the hosts: no artifact needed).
        proc, _ = self.change("rollback", "game", project=other)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.versions(), ["v1"] * HOSTS)

    def test_hotfix_policy_and_backups(self):
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        git(self.repo, "checkout", "-q", "-b", "feature/x")
        self.commit("feature")
        proc = self.flotilla("hotfix", "game", "--ref", "feature/x", "--ticket", "OPS-1")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("stable", proc.stderr)
        proc = self.flotilla("hotfix", "game", "--ref", "stable")
        self.assertEqual(proc.returncode, 2)  # ticket required

        git(self.repo, "checkout", "-q", "stable")
        self.commit("v1-hotfix")
        proc, evs = self.change("-l", "h01", "hotfix", "game", "--ref", "stable", "--ticket", "OPS-1")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.versions(), ["v1-hotfix", "v1", "v1", "v1"])
        snapshot = next(e for e in evs if e["event"] == "snapshot")["id"]
        _, doc = run_json("-f", self.project, "snapshots", "show", str(snapshot), cwd=self.tmp.path)
        self.assertEqual((doc["kind"], doc["ticket"]), ("hotfix", "OPS-1"))
        self.assertEqual(doc["backup"][0]["location"], "/srv/backups/game-h01.dump")
        self.assertTrue(doc["backup"][0]["verified"])
        _, listed = run_json("-f", self.project, "backups", "list", "game", cwd=self.tmp.path)
        self.assertEqual([(b["snapshot"], b["host"], b["verified"]) for b in listed["backups"]][0],
                         (snapshot, "h01", True))

        # A backup that cannot be restored is no backup: its verify stops the deploy untouched.
        self.exec("touch /srv/unrestorable", limit="h01")
        git(self.repo, "checkout", "-q", "master")
        self.commit("v1.5")
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("backup verify failed on h01", proc.stderr)
        self.assertEqual(self.versions(), ["v1-hotfix", "v1", "v1", "v1"])
        self.exec("rm -f /srv/unrestorable", limit="h01")

        # A failed backup stops the deploy before any host changes.
        self.exec("touch /srv/nobackup", limit="h01")
        self.commit("v2")
        proc, _ = self.change("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("backup failed", proc.stderr)
        self.assertEqual(self.versions(), ["v1-hotfix", "v1", "v1", "v1"])
        _, doc = run_json("-f", self.project, "history", "--ticket", "OPS-1", cwd=self.tmp.path)
        self.assertEqual([s["kind"] for s in doc["history"]], ["hotfix"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
