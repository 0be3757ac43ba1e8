"""`flotilla doctor` (issue 31) on real sshd hosts, one problem per host, each
made real on that host's own mount namespace: h01 lacks curl (which the
unit's health check uses), h02's deploy_to is on a read-only file system,
h03's is on a full 1 MiB tmpfs, and h04's host key is unknown. Then each is
fixed on the host and the doctor finds nothing."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import TempDir, run, run_json  # noqa: E402

NET = "127.0.67"
DEPLOY_TO = "/srv/doc/app"


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv and mounts")
class DoctorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(4, NET)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        with open(self.fleet.known_hosts) as f:
            known = [line for line in f if not line.startswith(f"[{NET}.4]")]
        self.known_hosts = self.tmp.write("known_hosts", "".join(known))
        self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.known_hosts}, config: none}}
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  game:
    hosts: fleet
    deploy_to: {DEPLOY_TO}
    source: {{repo: backend, build: make, output: dist}}
    run: python3 server.py
    health: {{command: curl -fsS http://127.0.0.1:8080/}}
""")
        self.on("h01", "touch /tmp/doctor-nocurl && chmod 644 /tmp/doctor-nocurl && "
                       "mount --bind /tmp/doctor-nocurl \"$(command -v curl)\"")
        self.on("h02", "mkdir -p /srv/doc && mount -t tmpfs -o ro,size=1g tmpfs /srv/doc")
        self.on("h03", "mkdir -p /srv/doc && mount -t tmpfs -o size=1m tmpfs /srv/doc && "
                       "(head -c 2000000 /dev/zero > /srv/doc/filler || true)")

    def tearDown(self):
        self.on("h01", "umount \"$(command -v curl)\" 2>/dev/null; true")
        for host in ("h02", "h03"):
            self.on(host, "umount /srv/doc 2>/dev/null; rm -rf /srv/doc")
        self.tmp.cleanup()

    def on(self, host, command):
        proc = run("--known-hosts", self.fleet.known_hosts, "-l", host, "exec", "--", command,
                   cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, proc.stderr + proc.stdout)
        return proc

    def test_one_problem_per_host_each_with_its_fix_then_none(self):
        proc, doc = run_json("doctor", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        found = {h["host"]: [p["check"] for p in h["problems"]] for h in doc["hosts"]}
        self.assertEqual(found, {"h01": ["tool"], "h02": ["deploy_to"], "h03": ["disk"], "h04": ["reach"]},
                         doc)
        problems = {h["host"]: h["problems"][0] for h in doc["hosts"]}
        self.assertIn("curl is missing (game's health check uses it)", problems["h01"]["problem"])
        self.assertIn("apt-get install curl", problems["h01"]["fix"])
        self.assertIn(f"{DEPLOY_TO} (deploy_to of game) cannot be written", problems["h02"]["problem"])
        self.assertIn(f"{DEPLOY_TO} has 0 MiB free", problems["h03"]["problem"])
        self.assertIn("unknown host key", problems["h04"]["problem"])
        self.assertIn("ssh-keyscan", problems["h04"]["fix"])
        self.assertTrue(next(h for h in doc["hosts"] if h["host"] == "h01")["lock_host"])
        self.assertEqual(doc["problems"], 4)
        self.assertFalse(doc["ready"])
        # The text form: one line per problem, naming the host, with the fix.
        text = run("doctor", cwd=self.tmp.path)
        self.assertEqual(text.returncode, 1)
        lines = text.stdout.strip().splitlines()
        self.assertEqual(len(lines), 4, text.stdout)
        self.assertTrue(all("; fix: " in line for line in lines), lines)
        self.assertIn("4 problem(s) on 4 of 4 host(s)", text.stderr)
        # Asking changed nothing: deploy_to was not made where it could be.
        self.assertEqual(self.on("h01", f"test -e {DEPLOY_TO} && echo made || echo absent").stdout.count("absent"), 1)

        # Fixed on the hosts, the doctor agrees.
        self.on("h01", "umount \"$(command -v curl)\"")
        self.on("h02", "umount /srv/doc")
        self.on("h03", "umount /srv/doc")
        with open(self.fleet.known_hosts) as f:
            self.tmp.write("known_hosts", f.read())
        proc, doc = run_json("doctor", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, doc)
        self.assertTrue(doc["ready"])
        self.assertTrue(all(abs(h["clock_skew_seconds"]) <= 5 for h in doc["hosts"]), doc)


if __name__ == "__main__":
    unittest.main()
