"""Artifacts through an OCI registry: Debian's docker-registry on loopback
(TLS from a private CA, htpasswd), a fleet of real sshd hosts that pull
with curl. The registry's own access log says what crossed it."""
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.request
import base64
import json

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import TempDir, git, run  # noqa: E402
from registry import REGISTRY, Registry  # noqa: E402

NET = "127.0.45"
REGISTRY_ADDRESS = "127.0.46.1"
HOSTS = 4
FILES = 100
PORT = 8097


def fetch(i, path):
    try:
        with urllib.request.urlopen(f"http://{NET}.{i}:{PORT}/{path}", timeout=2) as r:
            return r.read().decode()
    except Exception:
        return None


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
@unittest.skipUnless(REGISTRY and shutil.which("htpasswd"), "needs docker-registry and htpasswd")
class RegistryDeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET)
        cls.registry = Registry(REGISTRY_ADDRESS)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()
        cls.registry.cleanup()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp VERSION dist/ && cp -r assets dist/\n")
        self.tmp.write("backend/VERSION", "v1\n")
        for i in range(FILES):
            self.tmp.write(f"backend/assets/a{i}.dat", f"asset {i} {os.getpid()}\n" * 500)
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.deploy_to = f"/srv/web-registry-{os.getpid()}"
        # Each test its own repository: the registry's log is counted per repository.
        self.repository = f"studio/web-{os.getpid()}-{self._testMethodName[5:20].replace('_', '-')}"
        self.project = self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
artifacts:
  registry: {self.registry.url}
  repository: {self.repository}
  username: {self.registry.username}
  password: env:FLOTILLA_TEST_REGISTRY_PASSWORD
  ca_file: {self.registry.ca}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
units:
  web:
    hosts: fleet
    deploy_to: {self.deploy_to}
    source: {{repo: backend, build: make, output: dist}}
    run: exec python3 -m http.server {PORT} --bind {{{{ansible_host}}}}
    health:
      command: curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:{PORT}/VERSION
      timeout: 2s
      retries: 25
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {{canary: 1, batch: 50%, max_unavailable: 50%}}
""")
        self.password_env = {"FLOTILLA_TEST_REGISTRY_PASSWORD": self.registry.password}

    def tearDown(self):
        run("--ssh-config", "none", "-f", self.project, "exec", "--",
            f"pkill -f 'http[.]server {PORT}'; rm -rf {self.deploy_to}")
        self.tmp.cleanup()

    def deploy(self, *extra, env=None):
        proc = run("--json", "deploy", "web", "--ref", "master", *extra, cwd=self.tmp.path, timeout=300,
                   env=env if env is not None else self.password_env)
        return proc, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def commit(self, files, message):
        for name, text in files.items():
            self.tmp.write(f"backend/{name}", text)
        git(self.repo, "commit", "-qam", message)

    def blob_puts(self):
        """Digest -> how many times the controller uploaded it."""
        counts = {}
        for uri, status in self.registry.requests("PUT", rf"/v2/{self.repository}/blobs/uploads/"):
            digest = re.search(r"digest=sha256(?::|%3A)([0-9a-f]{64})", uri).group(1)
            counts[digest] = counts.get(digest, 0) + 1
        return counts

    def blob_gets(self):
        return [uri for uri, status in self.registry.requests("GET", rf"/v2/{self.repository}/blobs/sha256:")]

    def test_hosts_pull_only_what_they_lack_and_the_controller_uploads_each_blob_once(self):
        secrets = [self.registry.password,
                   base64.b64encode(f"{self.registry.username}:{self.registry.password}".encode()).decode()]
        seen_argv, stop = set(), threading.Event()

        def watch_argv():  # every process's argv on this machine (the hosts' too)
            while not stop.is_set():
                seen_argv.update(subprocess.run(["ps", "-eo", "args="], capture_output=True,
                                                text=True).stdout.splitlines())
                time.sleep(0.01)

        watcher = threading.Thread(target=watch_argv)
        watcher.start()
        try:
            proc, events = self.deploy()
        finally:
            stop.set()
            watcher.join()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([fetch(i, "VERSION") for i in range(1, HOSTS + 1)], ["v1\n"] * HOSTS)
        puts = self.blob_puts()
        # FILES assets + VERSION + flotilla's manifest (the config blob), each once.
        self.assertEqual(len(puts), FILES + 2)
        self.assertEqual(set(puts.values()), {1})
        self.assertEqual(len(self.blob_gets()), HOSTS * (FILES + 1))
        published = [e for e in events if e.get("event") == "registry_publish"]
        self.assertEqual(published[0]["uploaded"], FILES + 2)
        pushes = [e for e in events if e.get("event") == "host_push"]
        self.assertEqual({e["from"] for e in pushes}, {"registry"})
        self.assertTrue(self.registry.requests("PUT", rf"/v2/{self.repository}/manifests/"))
        # The password reaches no output, no argv, no state, no host file.
        # The watcher saw the hosts' own scripts (their argv names the unit's directory).
        self.assertTrue(any(self.deploy_to in a for a in seen_argv))
        for secret in secrets:
            self.assertNotIn(secret, proc.stdout + proc.stderr)
            self.assertFalse([a for a in seen_argv if secret in a])
            for where in [os.path.join(self.tmp.path, ".flotilla"), self.fleet.dir]:
                found = subprocess.run(["grep", "-rlF", secret, where], capture_output=True, text=True)
                self.assertEqual(found.stdout, "", f"{secret[:4]}... in {where}")

        # A 1% change: one asset of a hundred. One blob (and the new manifest) goes up; each
        # host pulls that one blob.
        gets_before = len(self.blob_gets())
        self.commit({"assets/a7.dat": "patched\n"}, "patch a7")
        proc, events = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual([fetch(i, "assets/a7.dat") for i in range(1, HOSTS + 1)], ["patched\n"] * HOSTS)
        puts_after = self.blob_puts()
        self.assertEqual(len(puts_after) - len(puts), 2)
        self.assertEqual(set(puts_after.values()), {1})
        self.assertEqual(len(self.blob_gets()) - gets_before, HOSTS)

        # A tampered blob in the registry is refused on the host: h01 pulls a new blob first,
        # then the registry's copy is damaged and the others pull it.
        self.commit({"assets/a8.dat": "v3 content\n"}, "v3")
        proc, _ = self.deploy("-l", "h01")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        sha = subprocess.run(["sha256sum"], input=b"v3 content\n", capture_output=True).stdout.decode()[:64]
        with open(self.registry.blob_file(sha), "wb") as f:
            f.write(b"v3 c0ntent\n")
        proc, events = self.deploy()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("does not match its digest", proc.stdout + proc.stderr)
        self.assertIn("no host was restarted", proc.stdout + proc.stderr)
        self.assertEqual([fetch(i, "assets/a8.dat") for i in range(2, HOSTS + 1)],
                         [f"asset 8 {os.getpid()}\n" * 500] * (HOSTS - 1))
        for i in range(2, HOSTS + 1):  # nothing unverified entered a store
            host_store = os.path.join(self.fleet.host_dir(f"h{i:02d}"), "srv", os.path.basename(self.deploy_to),
                                      ".flotilla", "store")
            self.assertFalse(os.path.exists(os.path.join(host_store, sha)))

    def test_a_host_that_cannot_reach_the_registry_fails_before_any_restart(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        config = os.path.join(self.fleet.host_dir("h03"), "sshd_config")
        with open(config) as f:
            original = f.read()
        pid_file = os.path.join(self.fleet.host_dir("h03"), "sshd.pid")

        def reload(text):
            with open(config, "w") as f:
                f.write(text)
            with open(pid_file) as f:
                os.kill(int(f.read()), 1)  # sshd re-reads its config on SIGHUP
            time.sleep(0.5)

        # h03's sessions reach the registry only through a proxy that is not there.
        reload(original + "SetEnv https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9\n")
        try:
            self.commit({"VERSION": "v2\n"}, "v2")
            proc, events = self.deploy()
        finally:
            reload(original)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("could not pull", proc.stdout + proc.stderr)
        self.assertEqual([fetch(i, "VERSION") for i in range(1, HOSTS + 1)], ["v1\n"] * HOSTS)
        self.assertFalse([e for e in events if e.get("event") == "host_phase" and "stopping" in str(e)])

        # Credentials the registry refuses: exit 2, before any host is touched.
        proc, _ = self.deploy(env={"FLOTILLA_TEST_REGISTRY_PASSWORD": "wrong"})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("refused the credentials", proc.stderr)
        self.assertEqual([fetch(i, "VERSION") for i in range(1, HOSTS + 1)], ["v1\n"] * HOSTS)
        # And none at all: the missing secret is named before anything happens.
        proc, _ = self.deploy(env={"FLOTILLA_TEST_REGISTRY_PASSWORD": ""})
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("FLOTILLA_TEST_REGISTRY_PASSWORD", proc.stderr)


if __name__ == "__main__":
    unittest.main()
