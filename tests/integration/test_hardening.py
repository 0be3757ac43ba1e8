"""A host is never trusted, every step is verified, no exit leaves the lock held
(issue 20), on a fleet of real sshd hosts with a private /srv each: a forged
history line, a stale pid naming an unrelated process group, a frozen host
(SIGSTOP), non-UTF-8 and terminal escapes in host output, a deeply nested
state file, `current` replaced by a directory, a lock release during a
deploy, a second Ctrl-C, SIGTERM, SIGHUP and a closed stdout."""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, descendants, http_text  # noqa: E402
from helpers import BIN, TempDir, VERSION_SERVICE, git, run, run_json  # noqa: E402

NET = "127.0.33"
HOSTS = 4  # two redundant pairs
DEPLOY_TO = "/srv/hard"



def version(i):
    return http_text(f"http://{NET}.{i}:8080/")


def events_of(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class HardeningTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && cp VERSION hardsvc.py dist/\n")
        self.tmp.write("backend/hardsvc.py", VERSION_SERVICE)
        self.tmp.write("backend/VERSION", "v1\n")
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.project = self.write_project(".flotilla")
        self.exec(f"pkill -f 'hardsvc[.]py'; rm -rf {DEPLOY_TO} /srv/slow")

    def tearDown(self):
        for i in range(1, HOSTS + 1):
            self.cont(f"h0{i}")
        time.sleep(1)  # a session thawed above finishes what it was doing
        self.exec(f"pkill -f 'hardsvc[.]py'; rm -rf {DEPLOY_TO} /srv/slow")
        run("-f", self.project, "lock", "release", "--force", cwd=self.tmp.path)
        self.tmp.cleanup()

    def write_project(self, state_dir, name="flotilla.yaml", auto_rollback="true"):
        return self.tmp.write(name, f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
state_dir: {state_dir}
environments:
  prod: {{inventory: {self.fleet.inventory}}}
units:
  hard:
    hosts: fleet
    deploy_to: {DEPLOY_TO}
    source: {{repo: backend, build: make, output: dist}}
    run: exec python3 hardsvc.py {{{{ansible_host}}}}
    health:
      command: if [ -e /srv/slow ]; then sleep 4; fi; curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/ && test "$(cat VERSION)" != bad
      timeout: 8s
      retries: 20
      interval: 300ms
    drain: {{timeout: 2s}}
    rollout: {{canary: 0, batch: 50%, max_unavailable: 50%, auto_rollback: {auto_rollback}}}
""")

    def flotilla(self, *args, project=None, timeout=300):
        return run("-f", project or self.project, *args, cwd=self.tmp.path, timeout=timeout)

    def exec(self, command, limit=None):
        args = ["exec", "--", command] if limit is None else ["-l", limit, "exec", "--", command]
        return run("-f", os.path.join(self.tmp.path, "flotilla.yaml"), *args, cwd=self.tmp.path)

    def deploy(self, *extra, project=None):
        proc = self.flotilla("--json", "deploy", "hard", "--ref", "master", *extra, project=project)
        return proc, events_of(proc.stdout)

    def commit(self, text):
        self.tmp.write("backend/VERSION", text + "\n")
        git(self.repo, "commit", "-qam", text)

    def write_on_host(self, host, path, data, append=False):
        """Writes DATA (bytes) to PATH on HOST, as something on the host would."""
        encoded = base64.b64encode(data).decode()
        up = self.exec(f"echo {encoded} | base64 -d {'>>' if append else '>'} {path}", limit=host)
        self.assertEqual(up.returncode, 0, up.stderr)

    def start_deploy(self):
        """Starts a --json deploy in the background; returns it once its first
        host has started (every health check is slow: /srv/slow)."""
        self.exec("touch /srv/slow")
        deploy = subprocess.Popen([BIN, "-f", self.project, "--json", "deploy", "hard", "--ref", "master"],
                                  cwd=self.tmp.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = ""
        while '"host_started"' not in line:
            line = deploy.stdout.readline()
            self.assertTrue(line, deploy.stderr.read() if deploy.poll() is not None else "no events")
        return deploy

    def versions(self):
        return [version(i) for i in range(1, HOSTS + 1)]

    def lock_held(self):
        proc, doc = run_json("-f", self.project, "lock", "status", cwd=self.tmp.path)
        return doc["held"]

    def sshd_processes(self, host):
        with open(os.path.join(self.fleet.host_dir(host), "sshd.pid")) as f:
            pid = int(f.read())
        return [pid] + descendants(pid)

    def stop(self, host):
        for p in self.sshd_processes(host):
            os.kill(p, signal.SIGSTOP)

    def cont(self, host):
        try:
            for p in self.sshd_processes(host):
                os.kill(p, signal.SIGCONT)
        except (OSError, ValueError):
            pass

    def test_a_forged_history_line_cannot_steer_a_fleet_wide_rollback(self):
        ids = []
        for v in ("v1", "v2", "v3", "v4"):
            if v != "v1":
                self.commit(v)
            proc, evs = self.deploy()
            self.assertEqual(proc.returncode, 0, proc.stderr)
            ids.append(next(e for e in evs if e["event"] == "snapshot")["id"])
        # h01 rewrites its copy of the v3 deploy (the rollback target): every
        # host, it says, ran v1's release then. (Before: the first copy of a
        # record won, so the whole fleet went to v1.)
        proc, doc = run_json("-f", self.project, "snapshots", "show", str(ids[0]), cwd=self.tmp.path)
        v1_release = doc["hosts"]["h01"]["after"]
        forged = self.exec(f"cat {DEPLOY_TO}/.flotilla/history.jsonl", limit="h01").stdout
        lines = [json.loads(line) for line in forged.splitlines() if line.startswith("{")]
        record = next(r for r in lines if r["id"] == ids[2])
        record["artifact"] = v1_release
        record["hosts"] = {f"h0{i}": {"before": "", "after": v1_release, "config_before": "",
                                      "config_after": "", "outcome": "updated"} for i in range(1, 5)}
        rewritten = [json.dumps(record) if r["id"] == ids[2] else json.dumps(r) for r in lines]
        self.write_on_host("h01", f"{DEPLOY_TO}/.flotilla/history.jsonl",
                           ("\n".join(rewritten) + "\n").encode())

        # A second controller, knowing only what the hosts say.
        second = self.write_project(".flotilla-second", name="second.yaml")
        proc = self.flotilla("--json", "rollback", "hard", project=second)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("v1", self.versions())
        self.assertEqual(self.versions(), ["v2"] * HOSTS)  # past the disputed v3 record
        proc, doc = run_json("-f", second, "snapshots", "show", str(ids[2]), "--offline",
                             cwd=self.tmp.path)
        self.assertEqual(doc["outcome"], "disputed")

        # The controller that made the changes trusts its own ledger: v3.
        proc = self.flotilla("rollback", "hard", "--to", str(ids[2]))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(self.versions(), ["v3"] * HOSTS)

    def test_a_stale_pid_never_gets_an_unrelated_process_group_signalled(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # The service on h01 dies outside flotilla; its pid number now names
        # an unrelated process group leader.
        self.exec(f"kill $(cat {DEPLOY_TO}/.flotilla/pid)", limit="h01")
        bystander = subprocess.Popen(["sleep", "300"], start_new_session=True)
        try:
            leader = bystander.pid
            self.assertEqual(os.getpgid(leader), leader)
            self.exec(f"echo {leader} > {DEPLOY_TO}/.flotilla/pid", limit="h01")
            self.commit("v2")
            proc, _ = self.deploy()
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIsNone(bystander.poll())  # still running: never signalled
            self.assertEqual(self.versions(), ["v2"] * HOSTS)
        finally:
            bystander.kill()
            bystander.wait()

    def test_a_frozen_host_is_lost_in_seconds_and_the_change_ends_recorded(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.commit("v2")
        started = time.monotonic()
        deploy = self.start_deploy()
        # Freeze h02 (its sshd and its sessions) once the first batch has
        # started: TCP stays up, nothing answers. (h01 holds the lock.)
        self.stop("h02")
        out, err = deploy.communicate(timeout=240)
        elapsed = time.monotonic() - started
        self.cont("h02")
        self.assertNotEqual(deploy.returncode, 0, err)
        self.assertLess(elapsed, 90, err)  # lost by keepalives, not after a 30 min step deadline
        self.assertIn("stopped responding", out)
        self.assertFalse(self.lock_held())
        proc, doc = run_json("-f", self.project, "snapshots", "list", "--offline", cwd=self.tmp.path)
        self.assertEqual(doc["snapshots"][-1]["outcome"], "failed")

    def test_non_utf8_bytes_and_terminal_escapes_from_a_host_are_printed_safely(self):
        proc = self.flotilla("--json", "exec", "--", r"printf 'bad \377 byte \033]0;pwned\007\n'")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        doc = json.loads(proc.stdout)  # valid JSON despite the byte
        self.assertIn("\ufffd", doc["hosts"]["h01"]["stdout"])
        proc = subprocess.run([BIN, "-f", self.project, "exec", "--",
                               r"printf 'bad \377 byte \033]0;pwned\007\n'"],
                              capture_output=True, cwd=self.tmp.path)
        self.assertNotIn(b"\x1b]0;", proc.stdout)
        self.assertIn(b"\\u001b]0;pwned\\u0007", proc.stdout)
        # A host's state file with such bytes: every --json path still speaks
        # JSON (after the lock is taken, too), and the lock is released.
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.write_on_host("h04", f"{DEPLOY_TO}/.flotilla/state.json",
                           b'{"current": {"release": "\xff\x1b]0;pwned\x07"}}')
        self.commit("v2")
        for args in (["status", "hard"], ["deploy", "hard", "--ref", "master"]):
            proc = subprocess.run([BIN, "-f", self.project, "--json", *args], capture_output=True,
                                  cwd=self.tmp.path)
            self.assertNotEqual(proc.returncode, 0)
            self.assertNotIn(b"internal error", proc.stderr)
            self.assertNotIn(b"\x1b]0;", proc.stderr)
            for line in proc.stdout.decode().splitlines() if args[0] == "deploy" else [proc.stdout.decode()]:
                if line.strip():
                    json.loads(line)
        self.assertFalse(self.lock_held())

    def test_a_deeply_nested_state_file_fails_that_host_cleanly(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.exec(f"python3 -c \"print('['*200000 + ']'*200000)\" > {DEPLOY_TO}/.flotilla/state.json", limit="h03")
        self.commit("v2")
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("nests deeper than", proc.stderr)
        self.assertIn("h03", proc.stderr)
        self.assertEqual(self.versions(), ["v1"] * HOSTS)  # nothing was changed anywhere
        self.assertFalse(self.lock_held())

    def test_current_replaced_by_a_directory_is_refused_not_reported_updated(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.exec(f"cd {DEPLOY_TO} && rm current && mkdir current && echo hand > current/VERSION",
                  limit="h02")
        self.commit("v2")
        proc, evs = self.deploy()
        self.assertEqual(proc.returncode, 1, proc.stderr)
        done = {e["host"]: e for e in evs if e["event"] == "host_done"}
        self.assertFalse(done["h02"]["ok"])
        self.assertIn("is not a symlink", done["h02"]["detail"])
        self.assertEqual(self.exec(f"cat {DEPLOY_TO}/current/VERSION", limit="h02").stdout.count("hand"), 1)

    def test_auto_rollback_off_leaves_a_state_that_says_what_runs_and_that_it_failed(self):
        project = self.write_project(".flotilla", auto_rollback="false")
        proc, _ = self.deploy(project=project)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.commit("bad")
        proc, _ = self.deploy(project=project)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        proc, doc = run_json("-f", project, "-l", "h01", "exec", "--",
                             f"cat {DEPLOY_TO}/.flotilla/state.json; echo; readlink {DEPLOY_TO}/current",
                             cwd=self.tmp.path)
        text, link = doc["hosts"]["h01"]["stdout"].rsplit("\n", 2)[0:2]
        state = json.loads(text)
        self.assertIn(state["current"]["release"], link)
        self.assertTrue(state["current"]["failed"])
        # The plan does not call it "already running it": the same ref is retried.
        proc, doc = run_json("-f", project, "plan", "hard", "--ref", "master", cwd=self.tmp.path)
        h01 = next(h for h in doc["hosts"] if h["host"] == "h01")
        self.assertTrue(h01["change"])

    def test_lock_release_without_force_never_frees_a_running_deploys_lock(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.commit("v2")
        deploy = self.start_deploy()
        release = self.flotilla("lock", "release")
        self.assertEqual(release.returncode, 3, release.stderr)
        self.assertIn("taken by a change", release.stderr)
        self.assertTrue(self.lock_held())
        out, err = deploy.communicate(timeout=240)
        self.assertEqual(deploy.returncode, 0, err)
        self.assertFalse(self.lock_held())

    def run_until_batch_and_signal(self, *signals):
        deploy = self.start_deploy()
        for sig in signals:
            deploy.send_signal(sig)
            time.sleep(0.3)
        out, err = deploy.communicate(timeout=120)
        return deploy.returncode, err

    def test_second_ctrl_c_sigterm_and_sighup_still_record_and_unlock(self):
        for sigs in ((signal.SIGINT, signal.SIGINT), (signal.SIGTERM,), (signal.SIGHUP, signal.SIGHUP)):
            with self.subTest(signals=sigs):
                self.commit(f"v-{sigs[0].name}-{len(sigs)}")
                started = time.monotonic()
                code, err = self.run_until_batch_and_signal(*sigs)
                self.assertNotEqual(code, 0, err)
                self.assertLess(time.monotonic() - started, 60, err)
                self.assertFalse(self.lock_held(), err)
                proc, doc = run_json("-f", self.project, "snapshots", "list", "--offline", cwd=self.tmp.path)
                self.assertEqual(doc["snapshots"][-1]["outcome"], "interrupted", err)
                time.sleep(5)  # steps given up on finish on the hosts by themselves

    def test_a_closed_stdout_does_not_leave_the_lock_held(self):
        self.exec("touch /srv/slow")
        deploy = subprocess.Popen([BIN, "-f", self.project, "--json", "deploy", "hard", "--ref", "master"],
                                  cwd=self.tmp.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deploy.stdout.readline()
        deploy.stdout.close()  # `deploy | head -1`
        deploy.wait(timeout=240)
        self.assertFalse(self.lock_held())
        proc, doc = run_json("-f", self.project, "snapshots", "list", "--offline", cwd=self.tmp.path)
        self.assertIn(doc["snapshots"][-1]["outcome"], ("succeeded", "failed"))


if __name__ == "__main__":
    unittest.main()
