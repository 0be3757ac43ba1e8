"""The reference game backend (examples/game-backend) deployed by the example
project (examples/launch) on a fleet of real sshd hosts: the payment ledger
is exact across a rolling deploy under load; a reward campaign pushed with
`config push` is granted once per player; a GM event goes live without a
restart; a game server with players waits for them (or its deadline), and
they hear about it from the GM service."""
import http.client
import json
import re
import threading
import os
import shutil
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet, http_text  # noqa: E402
from helpers import BIN, SOURCE, TempDir, git  # noqa: E402

NET = "127.0.29"
HOSTS = 4  # two redundant pairs
PORTS = {"reward": 8101, "payment": 8102, "gm": 8103, "game": 8104}


def call(i, unit, path, post=False):
    req = urllib.request.Request(f"http://{NET}.{i}:{PORTS[unit]}{path}",
                                 data=b"" if post else None)
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


@unittest.skipUnless(os.geteuid() == 0, "needs root: each test host gets a private /srv")
class BackendTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(HOSTS, NET, pairs=True)
        cls.tmp = TempDir()
        # The sample repository: release/1.0 and master (1.1).
        cls.repo = os.path.join(cls.tmp.path, "backend")
        shutil.copytree(os.path.join(SOURCE, "examples", "game-backend"), cls.repo,
                        ignore=shutil.ignore_patterns("build", "dist"))
        git(cls.repo, "init", "-q", "-b", "master")
        git(cls.repo, "add", "-A")
        git(cls.repo, "commit", "-qm", "1.0")
        git(cls.repo, "branch", "release/1.0")
        with open(os.path.join(cls.repo, "VERSION"), "w") as f:
            f.write("1.1\n")
        git(cls.repo, "commit", "-qam", "1.1")
        # The example project, pointed at this fleet.
        cls.project_dir = os.path.join(cls.tmp.path, "project")
        shutil.copytree(os.path.join(SOURCE, "examples", "launch"), cls.project_dir)
        # These tests are about the services under deploys, not the release process:
        # prod's require_rehearsal (tested in test_releases) is dropped here.
        project_file = os.path.join(cls.project_dir, "flotilla.yaml")
        with open(project_file) as f:
            text = f.read()
        assert "require_rehearsal:" in text
        with open(project_file, "w") as f:
            f.write("\n".join(line for line in text.splitlines() if "require_rehearsal:" not in line) + "\n")
        hosts = "\n".join(f"        gs{i}: {{ansible_host: {NET}.{i}, flotilla_pair: p{(i + 1) // 2}}}"
                          for i in range(1, HOSTS + 1))
        cls.tmp.write("project/inventories/prod.yaml",
                      f"all:\n  children:\n    game:\n      hosts:\n{hosts}\n")
        with open(cls.fleet.inventory) as f:
            user = next(line.split(":", 1)[1].strip() for line in f if "ansible_user" in line)
        cls.tmp.write("project/ssh_config", f"Host {NET}.*\n  Port 2222\n  User {user}\n"
                                            f"  IdentityFile {cls.fleet.dir}/client_key\n")
        shutil.copy(cls.fleet.known_hosts, os.path.join(cls.project_dir, "known_hosts"))
        cls.tmp.write("project/secrets/steam.key", "steam-test-key\n")
        cls.env = dict(os.environ, PAY_APPLE_KEY="apple-test-key", PAY_GOOGLE_KEY="google-test-key")

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()
        cls.tmp.cleanup()

    def tearDown(self):
        # The whole process group: the example's reward and game units run without
        # exec, so the pid file names the shell around the service.
        self.flotilla("exec", "--", "for p in /srv/*/.flotilla/pid; do kill -TERM -$(cat $p) 2>/dev/null; "
                      "done; sleep 0.2; rm -rf /srv/reward /srv/payment /srv/gm /srv/game")
        # Tests edit the example's config files: the next test starts from the originals.
        shutil.copytree(os.path.join(SOURCE, "examples", "launch", "config"),
                        os.path.join(self.project_dir, "config"), dirs_exist_ok=True)

    def flotilla(self, *args, timeout=600):
        return subprocess.run([BIN, "-e", "prod", *args], cwd=self.project_dir, env=self.env,
                              capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def deploy(self, unit, ref):
        proc = self.flotilla("deploy", unit, "--ref", ref, "--ticket", "T-1")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def pids(self, unit):
        return [call(i, unit, "/version")["release"] + ":" + self.pid_of(i, unit)
                for i in range(1, HOSTS + 1)]

    def pid_of(self, i, unit):
        path = os.path.join(self.fleet.host_dir(f"h{i:02d}"), "srv", unit, ".flotilla", "pid")
        with open(path) as f:
            return f.read().strip()

    def edit_config(self, name, change):
        path = os.path.join(self.project_dir, "config", name)
        with open(path) as f:
            doc = json.load(f)
        change(doc)
        with open(path, "w") as f:
            json.dump(doc, f)

    def test_payment_ledger_is_exact_across_a_rolling_deploy_under_load(self):
        self.deploy("payment", "release/1.0")
        before = [self.pid_of(i, "payment") for i in range(1, HOSTS + 1)]
        hosts = ",".join(f"{NET}.{i}" for i in range(1, HOSTS + 1))
        load = subprocess.Popen([sys.executable, os.path.join(SOURCE, "examples", "launch", "loadgen.py"),
                                 hosts, "--workers", "8"], stdout=subprocess.PIPE, text=True)
        try:
            time.sleep(1)
            proc = self.flotilla("--json", "deploy", "payment", "--ref", "master", "--ticket", "T-2")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            # kind: payment rolls one host at a time.
            plan = next(json.loads(l) for l in proc.stdout.splitlines() if '"plan"' in l)
            self.assertEqual([len(b["hosts"]) for b in plan["batches"]], [1] * HOSTS)
            time.sleep(0.5)
        finally:
            load.terminate()
            out, _ = load.communicate(timeout=180)
        self.assertEqual(load.returncode, 0, out)
        self.assertRegex(out, r"ledger check: \d+ settled exactly once, 0 lost, 0 doubled")
        sent = int(out.split("payment load: ")[1].split()[0])
        waited = int(out.split("; ")[1].split()[0])
        self.assertGreater(sent, 20, out)
        self.assertGreater(waited, 0, f"no purchase met a restarting host: {out}")
        after = [self.pid_of(i, "payment") for i in range(1, HOSTS + 1)]
        self.assertTrue(all(a != b for a, b in zip(after, before)), "every host restarted")
        self.assertEqual({call(i, "payment", "/version")["version"] for i in range(1, HOSTS + 1)},
                         {"1.1"})
        # /metrics (common/service, so every service's) is the Prometheus text format as
        # promtool reads it, and counts what it answered: the load's purchases.
        answered = 0
        for i in range(1, HOSTS + 1):
            with urllib.request.urlopen(f"http://{NET}.{i}:{PORTS['payment']}/metrics", timeout=5) as r:
                self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
                text = r.read().decode()
            checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
            self.assertEqual(checked.returncode, 0, f"h{i:02d}: {checked.stdout}{checked.stderr}")
            answered += int(re.search(r'^http_requests_total{code="200"} (\d+)$', text, re.M).group(1))
        self.assertGreater(answered, 0)

    def test_a_campaign_pushed_by_config_push_is_granted_once_per_player(self):
        self.deploy("reward", "release/1.0")
        first = call(1, "reward", "/login?player=ann", post=True)
        self.assertEqual([g["campaign"] for g in first["granted"]], ["launch-week"])
        pids = self.pids("reward")

        self.edit_config("reward/campaigns.json", lambda doc: doc["campaigns"].append(
            {"id": "incident-1121", "gems": 500, "until": "2099-01-01T00:00:00Z",
             "message": "Sorry about Tuesday"}))
        pushed = self.flotilla("config", "push", "reward", "--ticket", "INC-1121")
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        self.assertEqual(self.pids("reward"), pids, "config push restarted the service")

        granted = call(1, "reward", "/login?player=ann", post=True)
        self.assertEqual([(g["campaign"], g["gems"]) for g in granted["granted"]],
                         [("incident-1121", 500)])
        self.assertEqual(call(1, "reward", "/login?player=ann", post=True)["granted"], [])
        # Across a restart the grant is remembered: the process dies, and the
        # next deploy of the same release restarts it (no build needed).
        killed = self.flotilla("-l", "gs1", "exec", "--", "kill -TERM -$(cat /srv/reward/.flotilla/pid)")
        self.assertEqual(killed.returncode, 0, killed.stderr)
        self.deploy("reward", "release/1.0")
        self.assertNotEqual(self.pids("reward")[0], pids[0])
        self.assertEqual(call(1, "reward", "/login?player=ann", post=True)["granted"], [])
        self.assertEqual(len(call(2, "reward", "/login?player=bob", post=True)["granted"]), 2)

        # A campaign file the service refuses never reaches it.
        self.edit_config("reward/campaigns.json",
                         lambda doc: doc["campaigns"].append({"id": "oops", "gems": -5, "until": "x"}))
        bad = self.flotilla("config", "push", "reward", "--ticket", "INC-1122")
        self.assertEqual(bad.returncode, 1, bad.stderr)
        self.assertIn("config check failed", bad.stdout + bad.stderr)
        self.assertEqual(len(call(1, "reward", "/campaigns")["active"]), 2)

    def test_a_gm_event_goes_live_without_a_restart(self):
        self.deploy("gm", "release/1.0")
        self.assertEqual([e["id"] for e in call(1, "gm", "/events/active")["active"]],
                         ["launch-festival"])
        pids = self.pids("gm")
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.edit_config("gm/events.json", lambda doc: doc["events"].append(
            {"id": "double-xp", "title": "Double XP", "starts": now, "ends": "2099-01-01T00:00:00Z",
             "announce": "Double XP is live!"}))
        pushed = self.flotilla("config", "push", "gm", "--ticket", "EV-7")
        self.assertEqual(pushed.returncode, 0, pushed.stderr)
        self.assertEqual(self.pids("gm"), pids)
        for i in range(1, HOSTS + 1):
            self.assertIn("double-xp", [e["id"] for e in call(i, "gm", "/events/active")["active"]])
            self.assertIn("double-xp", [a["event"] for a in call(i, "gm", "/announcements")["announcements"]])
        logs = self.flotilla("logs", "gm", "--grep", "ANNOUNCE double-xp")
        self.assertEqual(logs.returncode, 0, logs.stderr)
        self.assertEqual(logs.stdout.count("Double XP is live!"), HOSTS, logs.stdout)

    def test_restore_brings_the_grant_journal_back_and_nobody_is_rewarded_twice(self):
        self.deploy("reward", "release/1.0")
        self.assertEqual(len(call(1, "reward", "/login?player=ann", post=True)["granted"]), 1)
        # The deploy of master backs up every host's journal (ann's grant in it) and
        # restores each backup into a scratch directory before anything changes.
        proc = self.flotilla("--json", "deploy", "reward", "--ref", "master", "--ticket", "T-3")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        events = [json.loads(line) for line in proc.stdout.splitlines()]
        snapshot = next(e["id"] for e in events if e["event"] == "snapshot")
        self.assertEqual(sorted(e["host"] for e in events if e["event"] == "backup_verified" and e["ok"]),
                         [f"gs{i}" for i in range(1, HOSTS + 1)])
        listed = self.flotilla("backups", "list", "reward")
        self.assertRegex(listed.stdout, rf"(?m)^\s*{snapshot}\s.*gs1\s+yes\s")

        # The journal on gs1 is lost; the service starts over from nothing.
        journal = os.path.join(self.fleet.host_dir("h01"), "srv", "reward", "shared", "data",
                               "reward-grants.jsonl")
        os.truncate(journal, 0)
        self.flotilla("exec", "--limit", "gs1", "--", "kill -TERM -$(cat /srv/reward/.flotilla/pid)")
        restored = self.flotilla("--json", "restore", "reward", "--snapshot", str(snapshot),
                                 "--ticket", "INC-7")
        self.assertEqual(restored.returncode, 0, restored.stdout + restored.stderr)
        record = next(json.loads(line) for line in restored.stdout.splitlines() if '"snapshot"' in line)
        self.assertEqual(record["kind"], "restore")
        with open(journal) as f:
            self.assertIn('"player":"ann"', f.read().replace(" ", ""))
        # ann got launch-week before the backup: never again. bob never did: he gets it.
        self.assertEqual(call(1, "reward", "/login?player=ann", post=True)["granted"], [])
        self.assertEqual(len(call(1, "reward", "/login?player=bob", post=True)["granted"]), 1)
        shown = self.flotilla("snapshots", "show", str(record["id"]))
        self.assertIn("restore", shown.stdout)
        self.assertIn(f"backup of {snapshot}", self.flotilla("snapshots", "list", "--unit", "reward").stdout)

    # Player-aware drain. gs3 has two players in a match; the others are empty.

    def join(self, i, player):
        """A player's session on game server i: a connection held open until close()."""
        conn = http.client.HTTPConnection(f"{NET}.{i}", PORTS["game"], timeout=30)
        conn.request("GET", f"/play?player={player}")
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.readline(), f"welcome {player}\n".encode())
        return conn, response

    def set_drain(self, notices, deadline):
        path = os.path.join(self.project_dir, "flotilla.yaml")
        with open(path) as f:
            text = f.read()
        text = re.sub(r"notices: \[[^]]*\]", f"notices: [{notices}]", text)
        text = re.sub(r"deadline: \S+", f"deadline: {deadline}", text)
        with open(path, "w") as f:
            f.write(text)

    def deploy_with_players(self, on_event):
        """Deploys game master over release/1.0 with two players on gs3, while a probe
        watches that gs3 and gs4 (a pair) are never down together. on_event(event, sessions)
        sees every --json event as it comes. Returns (events, sessions)."""
        self.deploy("gm", "release/1.0")
        self.deploy("game", "release/1.0")
        sessions = [self.join(3, "ann"), self.join(3, "bob")]
        self.assertEqual(http_get(3, "game", "/players"), "2")
        both_down = []
        watching = threading.Event()
        watching.set()

        def probe():
            while watching.is_set():
                if all(http_get(i, "game", "/health") is None for i in (3, 4)):
                    both_down.append(time.monotonic())
                time.sleep(0.05)
        prober = threading.Thread(target=probe)
        prober.start()
        events = []
        try:
            with subprocess.Popen([BIN, "-e", "prod", "--json", "deploy", "game", "--ref", "master",
                                   "--ticket", "T-9"], cwd=self.project_dir, env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  stdin=subprocess.DEVNULL) as proc:
                for line in proc.stdout:
                    event = json.loads(line)
                    event["at"] = time.monotonic()
                    events.append(event)
                    on_event(event, sessions)
                err = proc.stderr.read()
                self.assertEqual(proc.wait(timeout=120), 0, err)
        finally:
            watching.clear()
            prober.join()
            for conn, _ in sessions:
                conn.close()
        self.assertEqual(both_down, [], "gs3 and gs4 (a pair) were down together")
        self.assertEqual({call(i, "game", "/version")["version"] for i in range(1, HOSTS + 1)}, {"1.1"})
        return events

    def restarts(self, events):
        """host -> (when its activation started, when its new release started), monotonic s."""
        started = {e["host"]: e["at"] for e in events if e["event"] == "host_started"}
        return {e["host"]: (started[e["host"]], e["at"]) for e in events
                if e["event"] == "host_phase" and e["phase"] == "starting"}

    def test_a_game_server_with_players_restarts_when_they_leave(self):
        self.set_drain("20s, 10s", "25s")
        left_at = []

        def leave_after_first_notice(event, sessions):
            if event["event"] == "host_notice" and event["host"] == "gs3" and not left_at:
                self.assertEqual(event["minutes"], 1)
                for conn, _ in sessions:
                    conn.close()
                left_at.append(time.monotonic())
        events = self.deploy_with_players(leave_after_first_notice)
        restarts = self.restarts(events)
        # The empty servers restart at once; gs3 waits for its players, then goes.
        for host in ("gs1", "gs2", "gs4"):
            start, done = restarts[host]
            self.assertLess(done - start, 5, host)
        self.assertTrue(left_at, "gs3 got no notice")
        start, done = restarts["gs3"]
        self.assertGreater(done, left_at[0])
        self.assertLess(done - left_at[0], 3, "gs3 restarted once its players left")
        counts = [e["players"] for e in events if e["event"] == "host_players" and e["host"] == "gs3"]
        self.assertEqual((counts[0], counts[-1]), (2, 0), counts)
        # The notice reached the players through the GM service.
        notices = [a for a in call(3, "gm", "/announcements")["announcements"] if a["event"] == "restart-gs3"]
        self.assertEqual([(a["text"], a["minutes"]) for a in notices],
                         [("Server gs3 restarts for an update in 1 minute", 1)])

    def test_a_game_server_whose_players_stay_restarts_at_the_deadline(self):
        self.set_drain("4s, 2s", "6s")
        events = self.deploy_with_players(lambda event, sessions: None)
        start, done = self.restarts(events)["gs3"]
        self.assertGreaterEqual(done - start, 6)
        self.assertEqual(len([e for e in events if e["event"] == "host_notice" and e["host"] == "gs3"]), 2)
        self.assertEqual(len([a for a in call(3, "gm", "/announcements")["announcements"]
                              if a["event"] == "restart-gs3"]), 2)
        # The restart ended the players' sessions.
        self.assertEqual(http_get(3, "game", "/players"), "0")


def http_get(i, unit, path):
    return http_text(f"http://{NET}.{i}:{PORTS[unit]}{path}", timeout=2)


if __name__ == "__main__":
    unittest.main()
