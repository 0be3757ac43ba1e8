"""`flotilla deploy` of a real HTTP service on a fleet of real sshd hosts,
each with its own /srv (needs root for the mount namespaces)."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import TempDir, git, run, run_json  # noqa: E402

NET = "127.0.17"
HOSTS = 16  # eight redundant pairs


def why(proc):
    """stderr and the failed hosts' events: a --json deploy prints its reasons on stdout."""
    failed = [line for line in proc.stdout.splitlines() if '"ok":false' in line.replace(" ", "")]
    return proc.stderr + "\n".join(failed)


def version(i):
    try:
        # A restarting host refuses at once; the timeout only spares a slow, busy one.
        with urllib.request.urlopen(f"http://{NET}.{i}:8080/VERSION", timeout=2) as r:
            return r.read().decode().strip()
    except Exception:
        return None


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class DeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()
        self.repo = os.path.join(self.tmp.path, "backend")
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist/assets && cp VERSION dist/ && cp -r assets dist/\n")
        self.tmp.write("backend/VERSION", "v1\n")
        for i in range(50):
            self.tmp.write(f"backend/assets/a{i}.dat", f"asset {i}\n" * 2000)
        git(self.repo, "init", "-q", "-b", "master")
        git(self.repo, "add", "-A")
        git(self.repo, "commit", "-qm", "v1")
        self.tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {self.fleet.known_hosts}, config: none}}
environments:
  dev: {{inventory: {self.fleet.inventory}}}
units:
  web:
    hosts: fleet
    deploy_to: /srv/web-{os.getpid()}
    source: {{repo: backend, build: make, output: dist}}
    run: exec python3 -m http.server 8080 --bind {{{{ansible_host}}}}
    health:
      command: curl -fsS -m 1 -o /dev/null http://{{{{ansible_host}}}}:8080/VERSION
      timeout: 2s
      retries: 25
      interval: 300ms
    drain: {{timeout: 3s}}
    rollout: {{canary: 1, batch: 25%, max_unavailable: 25%}}
""")

    def tearDown(self):
        run("--ssh-config", "none", "-f", os.path.join(self.tmp.path, "flotilla.yaml"), "exec", "--",
            f"pkill -f 'http[.]server 8080'; rm -rf /srv/web-{os.getpid()}")
        self.tmp.cleanup()

    def deploy(self, *extra):
        """Runs a deploy with --json; returns the process and its event lines."""
        proc = run("--json", "deploy", "web", "--ref", "master", *extra, cwd=self.tmp.path, timeout=300)
        return proc, [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]

    def commit(self, text):
        self.tmp.write("backend/VERSION", text + "\n")
        git(self.repo, "commit", "-qam", text)

    def pids(self):
        proc, doc = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "exec", "--",
                             f"cat /srv/web-{os.getpid()}/.flotilla/pid")
        return {h: r.get("stdout", "").strip() for h, r in doc["hosts"].items()}

    def test_rolling_deploys_keep_pairs_up_and_roll_back_a_bad_canary(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v1"] * HOSTS)

        # v2 while a probe watches every host: never a whole pair down, never
        # more than 25% (4 of 16) down at once.
        self.commit("v2")
        worst = {"down": 0, "pair_down": None}
        stop = threading.Event()

        def probe():
            while not stop.is_set():
                up = [version(i) is not None for i in range(1, HOSTS + 1)]
                worst["down"] = max(worst["down"], up.count(False))
                for p in range(HOSTS // 2):
                    if not up[2 * p] and not up[2 * p + 1]:
                        worst["pair_down"] = p + 1
                time.sleep(0.005)

        watcher = threading.Thread(target=probe)
        watcher.start()
        proc, events = self.deploy()
        stop.set()
        watcher.join()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v2"] * HOSTS)
        self.assertIsNone(worst["pair_down"], "both members of a pair were down at once")
        self.assertLessEqual(worst["down"], HOSTS // 4)  # max_unavailable 25%
        self.assertGreaterEqual(worst["down"], 1, "the probe never saw a restart")
        kinds = [e["event"] for e in events]
        for kind in ("plan", "host_started", "host_done", "batch_done", "deploy_done"):
            self.assertIn(kind, kinds)
        self.assertTrue(all("time" in e for e in events))

        # Same artifact again: nothing to do, no restart.
        before = self.pids()
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual(self.pids(), before)

        # A release whose health check fails: the canary goes back to v2, nobody else is touched.
        self.tmp.write("backend/Makefile", "all:\n\tmkdir -p dist && echo broken > dist/OTHER\n")
        git(self.repo, "commit", "-qam", "broken")
        before = self.pids()
        proc, events = self.deploy()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("rolled back", proc.stderr)
        # --json says why in the health check's own words.
        canary = next(e for e in events if e["event"] == "host_done" and e["host"] == "h01")
        self.assertFalse(canary["ok"])
        self.assertIn("404", "\n".join(canary["output"]))
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v2"] * HOSTS)
        after = self.pids()
        self.assertNotEqual(after["h01"], before["h01"])  # the canary was restarted on v2
        for h in [f"h{i:02d}" for i in range(2, HOSTS + 1)]:
            self.assertEqual(after[h], before[h], f"{h} was touched")

    def test_killed_controller_leaves_complete_releases_and_the_next_deploy_converges(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.commit("v2")
        marker = os.path.join(self.tmp.path, "restarting")
        # A hook that marks "mid-restart" (stopped, switched, starting) and dawdles there.
        with open(os.path.join(self.tmp.path, "flotilla.yaml"), "a") as f:
            f.write(f"    hooks: {{before_start: 'touch {marker}; sleep 1'}}\n")
        deploy = subprocess.Popen([os.environ["FLOTILLA_BIN"], "deploy", "web", "--ref", "master"],
                                  cwd=self.tmp.path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while not os.path.exists(marker) and time.time() < deadline:
            time.sleep(0.01)
        deploy.kill()  # SIGKILL, mid-restart of the canary
        deploy.wait()
        # The host finishes the step it had started (seconds on a loaded machine).
        deadline = time.time() + 30
        while True:
            versions = [version(i) for i in range(1, HOSTS + 1)]
            if all(v in ("v1", "v2") for v in versions) or time.time() > deadline:
                break
            time.sleep(0.5)
        self.assertTrue(all(v in ("v1", "v2") for v in versions), versions)
        proc, doc = run_json("-f", os.path.join(self.tmp.path, "flotilla.yaml"), "exec", "--",
                             f"cd /srv/web-{os.getpid()} && readlink current && ls releases")
        for host, r in doc["hosts"].items():
            lines = r["stdout"].split()
            self.assertTrue(lines[0].startswith("releases/"), r)
            self.assertNotIn("partial", r["stdout"])
        # The lock was left by a killed controller: it is shown stale, never taken silently.
        proc = run("lock", "status", cwd=self.tmp.path)
        self.assertIn("STALE", proc.stdout)
        self.assertEqual(run("lock", "release", "--force", cwd=self.tmp.path).returncode, 0)
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v2"] * HOSTS)

    def test_ctrl_c_inside_a_batch_finishes_the_host_in_flight_and_starts_no_other(self):
        # Eight hosts: batches of two after the canary.
        hosts = [f"h{i:02d}" for i in range(1, 9)]
        limit = ("-l", ":".join(hosts))
        proc, _ = self.deploy(*limit)
        self.assertEqual(proc.returncode, 0, why(proc))
        self.commit("v2")
        # --forks 1: the two hosts of batch 2 go one after another, so a
        # Ctrl-C lands while one of them is in flight and the other waits.
        deploy = subprocess.Popen([os.environ["FLOTILLA_BIN"], "--json", "--forks", "1", *limit, "deploy", "web",
                                   "--ref", "master"], cwd=self.tmp.path, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        events, batches, in_flight = [], None, None
        for line in deploy.stdout:
            events.append(json.loads(line))
            e = events[-1]
            if e["event"] == "plan":
                batches = [b["hosts"] for b in e["batches"]]
            if e["event"] == "host_phase" and e["phase"] == "starting" and e["host"] in batches[1]:
                in_flight = e["host"]
                deploy.send_signal(signal.SIGINT)
                break
        out, err = deploy.communicate(timeout=120)
        events += [json.loads(line) for line in out.splitlines() if line.strip()]
        self.assertEqual(deploy.returncode, 1, err)
        self.assertIn("interrupted", err)
        done = next(e for e in events if e["event"] == "deploy_done")
        self.assertTrue(done["interrupted"], done)
        self.assertEqual(in_flight, batches[1][0])
        by_name = {h: version(int(h[1:])) for h in hosts}
        updated = batches[0] + [in_flight]  # the canary, and the step in flight, finished
        for host, v in by_name.items():
            self.assertEqual(v, "v2" if host in updated else "v1", host)
        snapshot = next(e for e in events if e["event"] == "snapshot")["id"]
        proc, shown = run_json("snapshots", "show", str(snapshot), "--offline", cwd=self.tmp.path)
        self.assertEqual(shown["outcome"], "interrupted")
        self.assertEqual({h for h, r in shown["hosts"].items() if r["outcome"] == "updated"}, set(updated))
        for host in batches[1][1:]:
            self.assertEqual(shown["hosts"][host]["outcome"], "not started")
        proc, lock = run_json("lock", "status", cwd=self.tmp.path)
        self.assertFalse(lock["held"])  # released on the way out
        # Every host recorded the interrupted change in its own history.
        for host in hosts:
            path = os.path.join(self.fleet.host_dir(host), "srv", f"web-{os.getpid()}", ".flotilla",
                                "history.jsonl")
            with open(path) as f:
                records = [json.loads(line) for line in f]
            self.assertEqual((records[-1]["id"], records[-1]["outcome"]), (snapshot, "interrupted"), path)
        proc, _ = self.deploy(*limit)
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual([version(int(h[1:])) for h in hosts], ["v2"] * len(hosts))

    def test_killed_mid_push_activates_nothing_and_the_next_deploy_converges(self):
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        before = self.pids()
        self.tmp.write("backend/assets/big.dat", os.urandom(8_000_000).hex())  # 16 MB to every host
        git(self.repo, "add", "-A")
        self.commit("v2")
        run("build", "web", "--ref", "master", cwd=self.tmp.path)  # so the kill lands in the push
        deploy = subprocess.Popen([os.environ["FLOTILLA_BIN"], "--json", "deploy", "web", "--ref", "master"],
                                  cwd=self.tmp.path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        for line in deploy.stdout:
            if '"host_push"' in line:  # the push starts now; no host restarts before it ends
                break
        deploy.kill()
        deploy.wait()
        deploy.stdout.close()
        time.sleep(1)
        self.assertEqual(self.pids(), before)  # nobody restarted
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v1"] * HOSTS)
        self.assertEqual(run("lock", "release", "--force", cwd=self.tmp.path).returncode, 0)
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v2"] * HOSTS)

    def test_full_disk_on_one_host_changes_no_host(self):
        flotilla_yaml = os.path.join(self.tmp.path, "flotilla.yaml")
        # h05's deploy_to is a 1 MB tmpfs, mounted inside that host's own namespace.
        proc, _ = run_json("-f", flotilla_yaml, "-l", "h05", "exec", "--",
                           f"mkdir -p /srv/web-{os.getpid()} && mount -t tmpfs -o size=1m tmpfs /srv/web-{os.getpid()}")
        self.assertEqual(proc.returncode, 0, why(proc))
        try:
            proc, _ = self.deploy()
            self.assertEqual(proc.returncode, 0, why(proc))
            self.tmp.write("backend/assets/big.dat", "x" * 2_000_000)
            git(self.repo, "add", "-A")
            self.commit("v2")
            before = self.pids()
            proc, events = self.deploy()
            self.assertEqual(proc.returncode, 1, proc.stdout[-3000:] + proc.stderr)
            self.assertIn("push failed on 1 host(s); no host was restarted", proc.stderr)
            self.assertEqual(self.pids(), before)
            self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v1"] * HOSTS)
        finally:
            run("-f", flotilla_yaml, "-l", "h05", "exec", "--",
                f"pkill -f 'http[.]server 8080'; umount -l /srv/web-{os.getpid()}")

    def test_delta_push_and_tampered_artifact(self):
        proc, events = self.deploy()
        self.assertEqual(proc.returncode, 0, why(proc))
        # Change one small file of 51: only it crosses the wire.
        self.commit("v2")
        proc, plan = run_json("plan", "web", "--ref", "master", cwd=self.tmp.path)
        self.assertEqual(proc.returncode, 0, why(proc))
        for h in plan["hosts"]:
            self.assertEqual(h["files_to_send"], 1)
            self.assertEqual(h["bytes_to_send"], 3)
        # A tampered file in the local artifact store is caught before any host changes.
        objects = os.path.join(self.tmp.path, ".flotilla", "artifacts", "objects")
        archive = os.path.join(objects, plan["artifact"] + ".tar.zst")
        data = subprocess.run(["zstd", "-dc", archive], capture_output=True, check=True).stdout
        data = data.replace(b"v2\n", b"v9\n", 1)
        subprocess.run(["zstd", "-q", "-f", "-o", archive], input=data, check=True)
        before = self.pids()
        proc, _ = self.deploy()
        self.assertEqual(proc.returncode, 1)
        self.assertIn("damaged", proc.stderr)
        self.assertEqual(self.pids(), before)
        self.assertEqual([version(i) for i in range(1, HOSTS + 1)], ["v1"] * HOSTS)


    def test_a_damaged_file_in_a_hosts_store_is_refused_before_any_restart(self):
        limit = ("-l", "h01:h02:h03:h04")
        proc, _ = self.deploy(*limit)
        self.assertEqual(proc.returncode, 0, why(proc))
        # Bit rot on h03: a stored asset no longer matches its name. The next
        # release links it (it did not change), and must refuse it.
        store = os.path.join(self.fleet.host_dir("h03"), "srv", f"web-{os.getpid()}", ".flotilla", "store")
        victim = sorted(os.listdir(store))[0]
        os.chmod(os.path.join(store, victim), 0o644)
        with open(os.path.join(store, victim), "ab") as f:
            f.write(b"rot")
        self.commit("v2")
        before = self.pids()
        proc, events = self.deploy(*limit)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        failed = [e for e in events if e["event"] == "deploy_done"][0]
        self.assertIn("push failed on 1 host", failed["summary"])
        [h03] = [e for e in events if e["event"] == "host_done"]
        self.assertEqual(h03["host"], "h03")
        self.assertIn("failed verification: 1 damaged file(s) removed from the store", h03["detail"])
        self.assertEqual(self.pids(), before)  # nothing restarted anywhere
        self.assertEqual([version(i) for i in range(1, 5)], ["v1"] * 4)
        # The damaged file was dropped from h03's store: the next deploy resends it and succeeds.
        proc, events = self.deploy(*limit)
        self.assertEqual(proc.returncode, 0, why(proc))
        plan = next(e for e in events if e["event"] == "plan")
        # (The changed VERSION reached every store in the failed attempt.)
        sends = {h["host"]: h["files_to_send"] for h in plan["hosts"]}
        self.assertEqual(sends, {f"h{i:02d}": 1 if i == 3 else 0 for i in range(1, 5)})
        self.assertEqual([version(i) for i in range(1, 5)], ["v2"] * 4)

if __name__ == "__main__":
    unittest.main()
