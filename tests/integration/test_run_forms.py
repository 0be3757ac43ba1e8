"""A change is done only when the new release's own process serves.

Every way a studio writes `run:` is deployed v1 -> v2 -> a broken canary ->
rollback on real sshd hosts whose /bin/sh is dash, and each time the test asks
every host what it *serves* (its HTTP answer carries the release), never what
flotilla printed. The forms: `exec`, no `exec` (dash keeps a shell between the
supervisor and the service), a wrapper that forks and waits, a wrapper that
daemonizes and exits, a version-manager shim that execs through a second
script (with root's own pyenv shim behind it), and a service that ignores
SIGTERM. Then `status` against orphans and a process running another release,
and a stop that cannot stop."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import TempDir, git, run, run_json  # noqa: E402

NET = "127.0.61"
HOSTS = 4  # two redundant pairs

REFUSE_BROKEN = '[ ! -e BROKEN ] || { echo "broken build: refusing to start" >&2; exit 1; }\n'
SCRIPTS = {
    "bin/server.sh": "#!/bin/sh\n" + REFUSE_BROKEN + 'exec python3 -m http.server "$1" --bind "$2"\n',
    "bin/fork-wait.sh": "#!/bin/sh\n" + REFUSE_BROKEN + 'python3 -m http.server "$1" --bind "$2" &\nwait\n',
    "bin/daemon.sh": "#!/bin/sh\n" + REFUSE_BROKEN +
    'setsid python3 -m http.server "$1" --bind "$2" >/dev/null 2>&1 </dev/null &\nexit 0\n',
    "bin/shimmed.sh": "#!/bin/sh\n" + REFUSE_BROKEN + 'python3 -m http.server "$1" --bind "$2"\n',
    # A shim in the manner of pyenv/rbenv/asdf: a script that execs a second script,
    # which finds the real interpreter (itself root's pyenv shim on these hosts).
    "shim/python3": '#!/bin/bash\nexec "$(dirname "$0")/../libexec/python-real" "$@"\n',
    "libexec/python-real": '#!/bin/sh\nPATH=$(printf %s "$PATH" | sed "s|[^:]*/shim:||g")\nexec python3 "$@"\n',
    "bin/ignore-term.sh": "#!/bin/sh\n" + REFUSE_BROKEN + "trap '' TERM\n" +
    'python3 -m http.server "$1" --bind "$2"\n',
}

# name -> (port, run:)
FORMS = {
    "exec": (8081, "exec bin/server.sh 8081 {{ansible_host}}"),
    "no_exec": (8082, "bin/server.sh 8082 {{ansible_host}}"),
    "fork_and_wait": (8083, "bin/fork-wait.sh 8083 {{ansible_host}}"),
    "daemonize": (8084, "bin/daemon.sh 8084 {{ansible_host}}"),
    "shim": (8085, 'PATH="$PWD/shim:$PATH" bin/shimmed.sh 8085 {{ansible_host}}'),
    "ignores_sigterm": (8086, "bin/ignore-term.sh 8086 {{ansible_host}}"),
}


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class RunFormsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "game")
        self.tmp.write("game/Makefile", "all:\n\tmkdir -p dist && cp -r bin shim libexec VERSION dist/\n")
        for name, text in SCRIPTS.items():
            os.chmod(self.tmp.write(f"game/{name}", text), 0o755)
        self.tmp.write("game/VERSION", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.deploy_to = None

    def tearDown(self):
        if self.deploy_to:
            run("-f", self.project, "exec", "--",
                f"pkill -KILL -f 'http[.]server {self.port}'; pkill -KILL -f 'sleep 600'; rm -rf {self.deploy_to}")
        self.tmp.cleanup()

    def write_project(self, form):
        self.port, run_line = FORMS[form]
        self.deploy_to = f"/srv/forms-{form}-{os.getpid()}"
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: game, build: make, output: dist}}
    run: {json.dumps(run_line)}
    health: {{command: "curl -fsS http://{{{{ansible_host}}}}:{self.port}/VERSION", timeout: 2s, retries: 40, interval: 100ms}}
    drain: {{timeout: 1s}}
    rollout: {{canary: 1, batch: 50%, max_unavailable: 50%, pair_key: flotilla_pair}}
""")

    def serves(self):
        return [http_text(f"http://{NET}.{i}:{self.port}/VERSION", timeout=3) for i in range(1, HOSTS + 1)]

    def commit(self, version, broken=False):
        self.tmp.write("game/VERSION", version + "\n")
        if broken:
            self.tmp.write("game/Makefile", "all:\n\tmkdir -p dist && cp -r bin shim libexec VERSION dist/ && touch dist/BROKEN\n")
        git(self.repo, "commit", "-qam", version)

    def flotilla(self, *args):
        return run(*args, cwd=self.tmp.path, timeout=300)

    def status(self):
        proc, doc = run_json("status", "game", cwd=self.tmp.path)
        return proc, {h["host"]: h for h in doc["units"][0]["hosts"]} if doc else {}

    def check_form(self, form):
        self.write_project(form)
        proc = self.flotilla("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.serves(), ["v1"] * HOSTS)
        proc, doc = run_json("snapshots", "list", "--offline", cwd=self.tmp.path)
        first = doc["snapshots"][-1]["id"]

        self.commit("v2")
        proc = self.flotilla("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.serves(), ["v2"] * HOSTS, "the deploy said done; the hosts must serve v2")
        proc, hosts = self.status()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        v2 = {h["current"] for h in hosts.values()}
        self.assertEqual(len(v2), 1)
        for name, h in hosts.items():
            self.assertTrue(h["process"]["running"], name)
            self.assertEqual(h["process"]["release"], h["current"], name)

        # A build that cannot start: the old process must not answer for it.
        self.commit("v3", broken=True)
        proc = self.flotilla("deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("rolled back", proc.stderr)
        self.assertEqual(self.serves(), ["v2"] * HOSTS)

        proc = self.flotilla("rollback", "game", "--to", str(first))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.serves(), ["v1"] * HOSTS)
        proc, hosts = self.status()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertTrue(all(h["process"]["release"] not in v2 for h in hosts.values()))


    def test_status_flags_orphans_and_a_process_of_another_release(self):
        self.write_project("no_exec")
        self.assertEqual(self.flotilla("deploy", "game", "--ref", "master").returncode, 0)
        self.commit("v2")
        self.assertEqual(self.flotilla("deploy", "game", "--ref", "master").returncode, 0)
        proc, hosts = self.status()
        self.assertEqual(proc.returncode, 0, proc.stdout)
        v1 = next(iter(set(os.listdir(os.path.join(self.fleet.host_dir("h01"), "srv", os.path.basename(self.deploy_to), "releases"))) - {hosts["h01"]["current"]}))

        # h02: the service is swapped by hand for one of v1 (`current` still says v2).
        self.flotilla("exec", "-l", "h02", "--", f"pkill -f 'http[.]server {self.port} --bind {NET}[.]2'")
        self.flotilla("exec", "-l", "h02", "--", f"cd {self.deploy_to}/releases/{v1} && "
                      f"{{ setsid python3 -m http.server {self.port} --bind {NET}.2 >/dev/null 2>&1 </dev/null & }}")
        # h03: a process started by hand from the release, beside the supervised one.
        self.flotilla("exec", "-l", "h03", "--", f"cd {self.deploy_to}/current && {{ setsid sleep 600 >/dev/null 2>&1 </dev/null & }}")
        proc, hosts = self.status()
        self.assertEqual(proc.returncode, 1, proc.stdout)
        self.assertEqual(hosts["h01"]["drift"], [])
        self.assertEqual(hosts["h04"]["drift"], [])
        self.assertEqual(hosts["h02"]["health"], "stopped")
        self.assertFalse(hosts["h02"]["process"]["running"])
        self.assertTrue(any("orphan" in d and v1[:12] in d for d in hosts["h02"]["drift"]), hosts["h02"])
        self.assertTrue(any("orphan" in d and "sleep" in d for d in hosts["h03"]["drift"]), hosts["h03"])
        self.assertTrue(hosts["h03"]["process"]["running"])

        # A deploy refuses both before stopping anything there; their pair partners still go.
        self.commit("v3")
        proc = self.flotilla("--json", "deploy", "game", "--ref", "master")
        self.assertEqual(proc.returncode, 1)
        failed = {e["host"]: e["detail"] for e in map(json.loads, proc.stdout.splitlines())
                  if e["event"] == "host_done" and not e["ok"]}
        self.assertIn("without this unit's mark", failed.get("h02", ""), failed)
        self.assertIn("(sleep)", failed.get("h03", ""), failed)
        self.assertEqual(self.serves()[1], "v1", "h02's hand-started process was left alone")


for _form in FORMS:
    setattr(RunFormsTest, f"test_{_form}", lambda self, f=_form: self.check_form(f))


if __name__ == "__main__":
    unittest.main()
