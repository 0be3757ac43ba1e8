"""Secrets on a fleet of real sshd hosts: delivered through stdin into
shared/secrets (0600), read by a real service, and absent from everything
else — stdout, stderr, -v, --json, the state directory, the hosts'
.flotilla/, and every process's command line while changes run."""
import glob
import hashlib
import json
import os
import secrets as random_secrets
import stat
import subprocess
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import BIN, TempDir, git  # noqa: E402

NET = "127.0.28"
HOSTS = 2  # one redundant pair
DEPLOY_TO = "/srv/paysvc"

# Reads its two secrets at start and on SIGHUP; /digest shows that it did
# (a hash, so the test never needs the service to print a secret).
SERVICE = r'''
import hashlib, http.server, os, signal, sys
host, root = sys.argv[1], sys.argv[2]
state = {}
def load(*_):
    parts = [open(os.path.join(root, "shared/secrets", n)).read() for n in ("DB_PASSWORD", "STORE_KEY")]
    state["digest"] = hashlib.sha256("\n".join(parts).encode()).hexdigest()
load()
signal.signal(signal.SIGHUP, load)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = {"/digest": state["digest"], "/pid": str(os.getpid())}.get(self.path)
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


class CmdlineSampler:
    """Reads every process's command line on this machine (the hosts run here)
    until stopped; `seen` collects each distinct one."""

    def __init__(self):
        self.seen = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for path in glob.glob("/proc/[0-9]*/cmdline"):
                try:
                    with open(path, "rb") as f:
                        self.seen.add(f.read().replace(b"\0", b" ").decode(errors="replace"))
                except OSError:
                    pass
            self._stop.wait(0.005)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def files_under(root):
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            if os.path.isfile(path) and not os.path.islink(path):
                yield path


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class SecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp VERSION paysvc.py dist/\n")
        self.tmp.write("backend/paysvc.py", SERVICE)
        self.tmp.write("backend/VERSION", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        # Values no other output could contain by chance.
        self.store_key = "sk_live_" + random_secrets.token_hex(12)
        self.db_password = "pw-" + random_secrets.token_hex(10)
        self.tmp.write("secrets/db.pass", self.db_password + "\n")
        self.env = dict(os.environ, PAY_STORE_KEY=self.store_key)
        # A health check that fails on purpose for VERSION "bad" — and prints
        # both secrets first, so their redaction is exercised, not assumed.
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
state_dir: .flotilla
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  pay:
    hosts: fleet
    deploy_to: {DEPLOY_TO}
    source: {{repo: backend, build: make, output: dist}}
    run: exec python3 paysvc.py {{{{ansible_host}}}} {{{{deploy_to}}}}
    secrets: {{STORE_KEY: env:PAY_STORE_KEY, DB_PASSWORD: file:secrets/db.pass}}
    # A backup tool that prints its connection string: the recorded location is redacted.
    backup: {{command: 'echo "/backups/pay?password=$(cat {{{{deploy_to}}}}/shared/secrets/DB_PASSWORD 2>/dev/null)"'}}
    health:
      command: 'if [ "$(cat VERSION)" = bad ]; then echo "key=$(cat {{{{deploy_to}}}}/shared/secrets/STORE_KEY) db=$(cat {{{{deploy_to}}}}/shared/secrets/DB_PASSWORD)"; exit 1; fi; curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/pid'
      timeout: 2s
      retries: 20
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {{canary: 1, batch: 1}}
""")
        self.flotilla("exec", "--", f"pkill -f 'paysvc[.]py'; rm -rf {DEPLOY_TO}")

    def tearDown(self):
        self.flotilla("exec", "--", f"pkill -f 'paysvc[.]py'; rm -rf {DEPLOY_TO}")
        self.tmp.cleanup()

    def flotilla(self, *args, env=None, timeout=300):
        return subprocess.run([BIN, "-f", self.project, *args], cwd=self.tmp.path,
                              capture_output=True, text=True, timeout=timeout,
                              env=env or self.env, stdin=subprocess.DEVNULL)

    def expected_digest(self):
        return hashlib.sha256(f"{self.db_password}\n{self.store_key}".encode()).hexdigest()

    def assert_absent(self, text, where):
        for value in (self.store_key, self.db_password):
            self.assertNotIn(value, text, f"a secret leaked into {where}")

    def assert_nowhere_at_rest(self):
        """Not in the controller's state directory, not in any host's .flotilla/."""
        roots = [os.path.join(self.tmp.path, ".flotilla")]
        roots += [os.path.join(self.fleet.host_dir(f"h{i:02d}"), "srv", DEPLOY_TO[5:], ".flotilla")
                  for i in range(1, HOSTS + 1)]
        checked = 0
        for root in roots:
            self.assertTrue(os.path.isdir(root), root)
            for path in files_under(root):
                with open(path, "rb") as f:
                    data = f.read()
                for value in (self.store_key, self.db_password):
                    self.assertNotIn(value.encode(), data, f"a secret is stored in {path}")
                checked += 1
        self.assertGreater(checked, 10)

    def host_secrets_dir(self, i):
        return os.path.join(self.fleet.host_dir(f"h{i:02d}"), "srv", DEPLOY_TO[5:], "shared", "secrets")

    def test_secrets_reach_the_service_and_nothing_else(self):
        with CmdlineSampler() as sampler:
            ok = self.flotilla("-v", "deploy", "pay", "--ref", "master")
            self.assertEqual(ok.returncode, 0, ok.stderr)
            # Written with the default umask: other users could read it.
            self.assertIn("secret DB_PASSWORD: secrets/db.pass is readable by other users (mode 0644)",
                          ok.stderr.replace(self.tmp.path + "/", ""))

            # Delivered: the service read both, from 0600 files in a 0700 directory.
            for i in range(1, HOSTS + 1):
                self.assertEqual(get(i, "/digest"), self.expected_digest())
                d = self.host_secrets_dir(i)
                self.assertTrue(os.path.islink(d))
                for name in ("STORE_KEY", "DB_PASSWORD"):
                    self.assertEqual(stat.S_IMODE(os.stat(os.path.join(d, name)).st_mode), 0o600)
                self.assertEqual(stat.S_IMODE(os.stat(os.path.realpath(d)).st_mode), 0o700)
                with open(os.path.join(d, "STORE_KEY")) as f:
                    self.assertEqual(f.read(), self.store_key)

            # A bad build whose health check prints both secrets: text with -v...
            self.tmp.write("backend/VERSION", "bad\n")
            git(self.repo, "commit", "-qam", "bad")
            bad = self.flotilla("-v", "deploy", "pay", "--ref", "master")
            self.assertEqual(bad.returncode, 1, bad.stderr)
            self.assertIn("[REDACTED]", bad.stdout + bad.stderr)  # the check's output was shown
            self.assert_absent(bad.stdout, "stdout (-v)")
            self.assert_absent(bad.stderr, "stderr (-v)")
            # ...and JSON events with -v.
            bad_json = self.flotilla("-v", "--json", "deploy", "pay", "--ref", "master")
            self.assertEqual(bad_json.returncode, 1, bad_json.stderr)
            evs = [json.loads(line) for line in bad_json.stdout.splitlines() if line.strip()]
            done = [e for e in evs if e["event"] == "host_done" and not e["ok"]]
            self.assertTrue(done)
            self.assert_absent(bad_json.stdout, "--json events")
            self.assert_absent(bad_json.stderr, "stderr (--json -v)")
            self.assertIn("[REDACTED]", bad_json.stderr)

            # Rotating a secret is a config push: new values, same processes.
            pids = [get(i, "/pid") for i in range(1, HOSTS + 1)]
            old_version = os.path.realpath(self.host_secrets_dir(1))
            self.store_key = "sk_live_" + random_secrets.token_hex(12)
            self.env["PAY_STORE_KEY"] = self.store_key
            rotated = self.flotilla("--json", "config", "push", "pay")
            self.assertEqual(rotated.returncode, 0, rotated.stderr)
            for i in range(1, HOSTS + 1):
                self.assertEqual(get(i, "/digest"), self.expected_digest())
            self.assertEqual([get(i, "/pid") for i in range(1, HOSTS + 1)], pids)
            self.assertFalse(os.path.exists(old_version), "the old secret version was kept")

            # Output of a command that prints a secret is redacted too.
            shown = self.flotilla("exec", "--", f"cat {DEPLOY_TO}/shared/secrets/STORE_KEY")
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertIn("[REDACTED]", shown.stdout)
            self.assert_absent(shown.stdout, "exec output")

        for line in sampler.seen:
            self.assert_absent(line, f"a command line: {line[:80]}")
        self.assertGreater(len(sampler.seen), 20)  # it did sample while hosts worked
        self.assert_nowhere_at_rest()

        # The snapshot names the secret version by digest only.
        snaps = self.flotilla("--json", "snapshots", "list", "--offline")
        self.assertEqual(snaps.returncode, 0, snaps.stderr)
        self.assert_absent(snaps.stdout, "snapshots list")
        config_snapshot = json.loads(snaps.stdout)["snapshots"][-1]
        self.assertEqual(config_snapshot["kind"], "config")
        self.assertRegex(config_snapshot["secrets"], r"^[0-9a-f]{32}$")

    def test_a_missing_secret_stops_before_any_host_changes(self):
        ok = self.flotilla("deploy", "pay", "--ref", "master")
        self.assertEqual(ok.returncode, 0, ok.stderr)
        state = os.path.join(self.fleet.host_dir("h01"), "srv", DEPLOY_TO[5:], ".flotilla")
        before = {p: os.stat(p).st_mtime_ns for p in files_under(state)}
        ledger_before = sorted(files_under(os.path.join(self.tmp.path, ".flotilla", "snapshots")))

        env = dict(self.env)
        del env["PAY_STORE_KEY"]
        self.tmp.write("backend/VERSION", "v2\n")
        git(self.repo, "commit", "-qam", "v2")
        missing = self.flotilla("deploy", "pay", "--ref", "master", env=env)
        self.assertEqual(missing.returncode, 2, missing.stderr)
        self.assertIn("STORE_KEY", missing.stderr)
        self.assertIn("PAY_STORE_KEY is not set", missing.stderr)
        self.assertEqual(len(missing.stderr.strip().splitlines()), 1, missing.stderr)
        self.assertEqual({p: os.stat(p).st_mtime_ns for p in files_under(state)}, before)
        self.assertEqual(sorted(files_under(os.path.join(self.tmp.path, ".flotilla", "snapshots"))),
                         ledger_before)
        self.assertEqual(get(1, "/digest"), self.expected_digest())

        # shared/secrets switched by hand on one host: status reports the drift.
        link = self.host_secrets_dir(2)
        os.remove(link)
        os.symlink(".secrets/0000", link)
        status = self.flotilla("status", "pay")
        self.assertEqual(status.returncode, 1, status.stdout + status.stderr)
        self.assertIn("shared/secrets -> 0000 but the state says", status.stdout)

        os.remove(os.path.join(self.tmp.path, "secrets", "db.pass"))
        gone = self.flotilla("plan", "pay", "--ref", "master")
        self.assertEqual(gone.returncode, 2, gone.stderr)
        self.assertIn("DB_PASSWORD", gone.stderr)


if __name__ == "__main__":
    unittest.main()
