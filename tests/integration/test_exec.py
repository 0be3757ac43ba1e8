"""`flotilla exec` against real sshd servers on loopback: scale, host keys,
deadlines, vanishing hosts, hostile arguments."""
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from fleet import Fleet  # noqa: E402
from helpers import BIN, TempDir, run, run_json  # noqa: E402

def read(path):
    with open(path) as f:
        return f.read()


AUTH_WORDS = ("publickey", "Accepted", "userauth", "Authentication")


class ExecTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(32, "127.0.5")

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def flotilla(self, *args, known_hosts=None, **kwargs):
        return run_json("-i", self.fleet.inventory, "--known-hosts", known_hosts or self.fleet.known_hosts,
                        *args, **kwargs)

    def test_exec_on_32_hosts(self):
        proc, doc = self.flotilla("exec", "--", "echo $SSH_CONNECTION")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["summary"], {"ok": 32, "failed": 0, "unreachable": 0})
        for i in range(1, 33):
            name = f"h{i:02d}"
            self.assertEqual(doc["hosts"][name]["stdout"].split()[2], f"127.0.5.{i}", name)

    def test_hostile_arguments_arrive_exactly(self):
        hostile = ["a'b", "$(touch /tmp/flotilla-pwned)", "`id`", "x\ny", "-n", "*", "a b", "\\", '"', ""]
        proc, doc = self.flotilla("-l", "h01:h02", "exec", "--", "printf", "[%s]\\n", *hostile)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        expected = "".join(f"[{h}]\n" for h in hostile)
        self.assertEqual(doc["hosts"]["h01"]["stdout"], expected)
        self.assertFalse(os.path.exists("/tmp/flotilla-pwned"))

    def test_exit_codes_and_per_host_status(self):
        proc, doc = self.flotilla("-l", "h01:h02:h03", "exec", "--",
                                  'case "$SSH_CONNECTION" in *" 127.0.5.2 "*) exit 1;; esac')
        self.assertEqual(proc.returncode, 1)
        self.assertTrue(doc["hosts"]["h01"]["ok"])
        self.assertFalse(doc["hosts"]["h02"]["ok"])
        self.assertEqual(doc["hosts"]["h02"]["exit_status"], 1)

    def test_unknown_host_is_refused_before_authentication(self):
        known = self.tmp.write("known_hosts", "")
        before = self.fleet.log("h03")
        proc, doc = self.flotilla("-l", "h03", "exec", "--", "true", known_hosts=known)
        self.assertEqual(proc.returncode, 4)
        self.assertIn("unknown host key", doc["hosts"]["h03"]["error"])
        self.assertIn("SHA256:", doc["hosts"]["h03"]["error"])
        time.sleep(0.2)
        new = self.fleet.log("h03")[len(before):]
        self.assertIn("Connection from", new)
        for word in AUTH_WORDS:
            self.assertNotIn(word, new)

    def test_changed_host_key_is_refused_before_authentication(self):
        other = self.tmp.path + "/other_key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
        forged = read(other + ".pub").split()[:2]
        lines = []
        for line in read(self.fleet.known_hosts).splitlines(keepends=True):
            if line.startswith("[127.0.5.4]:"):
                line = f"[127.0.5.4]:2222 {forged[0]} {forged[1]}\n"
            lines.append(line)
        known = self.tmp.write("known_hosts", "".join(lines))
        before = self.fleet.log("h04")
        proc, doc = self.flotilla("-l", "h03:h04:h05", "exec", "--", "true", known_hosts=known)
        self.assertEqual(proc.returncode, 4)
        self.assertIn("HOST KEY CHANGED", doc["hosts"]["h04"]["error"])
        self.assertTrue(doc["hosts"]["h03"]["ok"] and doc["hosts"]["h05"]["ok"])
        time.sleep(0.2)
        new = self.fleet.log("h04")[len(before):]
        self.assertIn("Connection from", new)
        for word in AUTH_WORDS:
            self.assertNotIn(word, new)

    def test_hashed_known_hosts_entries_match(self):
        known = self.tmp.write("known_hosts", read(self.fleet.known_hosts))
        subprocess.run(["ssh-keygen", "-H", "-f", known], check=True, capture_output=True)
        self.assertNotIn("127.0.5", read(known))
        proc, doc = self.flotilla("-l", "h06", "exec", "--", "true", known_hosts=known)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_accept_new_host_keys_records_them(self):
        known = self.tmp.write("known_hosts", "")
        proc, _ = self.flotilla("--accept-new-host-keys", "-l", "h07", "exec", "--", "true", known_hosts=known)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        recorded = read(known)
        self.assertIn("[127.0.5.7]:2222 ssh-ed25519 ", recorded)
        proc, _ = self.flotilla("-l", "h07", "exec", "--", "true", known_hosts=known)
        self.assertEqual(proc.returncode, 0, proc.stderr)

    def test_silent_host_times_out_while_others_finish(self):
        tarpit = socket.socket()
        tarpit.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tarpit.bind(("127.0.5.200", 2222))
        tarpit.listen(8)
        held = []
        threading.Thread(target=lambda: held.append(tarpit.accept()), daemon=True).start()
        inv = self.tmp.write("inv.yaml", read(self.fleet.inventory) +
                             "        tarpit: {ansible_host: 127.0.5.200}\n")
        start = time.monotonic()
        proc, doc = run_json("-i", inv, "--known-hosts", self.fleet.known_hosts, "--connect-timeout", "1s",
                             "-l", "h08:tarpit", "exec", "--", "true")
        elapsed = time.monotonic() - start
        tarpit.close()
        for conn, _ in held:
            conn.close()
        self.assertEqual(proc.returncode, 4)
        self.assertTrue(doc["hosts"]["h08"]["ok"])
        self.assertIn("timed out connecting", doc["hosts"]["tarpit"]["error"])
        # The 1s timeout, not the 10s default: sanitizer start-up under a
        # busy machine once took 4.2s, so the bound sits well below 10s.
        self.assertLess(elapsed, 8)

    def test_command_deadline(self):
        start = time.monotonic()
        proc, doc = self.flotilla("-l", "h09:h10", "exec", "--timeout", "1s", "--", "sleep 20")
        self.assertEqual(proc.returncode, 1)
        self.assertIn("timed out after 1s", doc["hosts"]["h09"]["error"])
        self.assertLess(time.monotonic() - start, 5)

    def test_sigint_finishes_in_flight_and_starts_nothing_new(self):
        import json
        import signal
        import tempfile
        # The hosts share this machine's /tmp: the first command marks that it
        # is running, so the Ctrl-C lands mid-step however slow the machine is.
        marker = os.path.join(tempfile.mkdtemp(prefix="flotilla-sigint-"), "running")
        proc = subprocess.Popen([BIN, "--json", "-i", self.fleet.inventory, "--known-hosts", self.fleet.known_hosts,
                                 "-l", "h13:h14:h15", "--forks", "1", "exec", "--",
                                 f"touch {marker}; sleep 1.5; echo finished"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not os.path.exists(marker) and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        doc = json.loads(out)
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("interrupted", err)
        self.assertEqual(doc["hosts"]["h13"]["stdout"], "finished\n")  # the step in flight completed
        for host in ("h14", "h15"):
            self.assertIn("not started: interrupted", doc["hosts"][host]["error"])

    def test_streaming_prefixes_lines_with_the_host(self):
        proc = run("-i", self.fleet.inventory, "--known-hosts", self.fleet.known_hosts, "-l", "h11:h12",
                   "exec", "--stream", "--", "echo one; echo two")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for host in ("h11", "h12"):
            self.assertIn(f"{host} | one", proc.stdout)
            self.assertIn(f"{host} | two", proc.stdout)


class AgentTest(unittest.TestCase):
    """Keys held by ssh-agent authenticate when no key file is configured."""

    def test_ssh_agent_keys(self):
        fleet = Fleet(2, "127.0.10")
        tmp = TempDir()
        agent = None
        try:
            inv = tmp.write("inv.yaml", "".join(
                l for l in read(fleet.inventory).splitlines(keepends=True) if "private_key_file" not in l))
            env = dict(os.environ, HOME=tmp.path)  # no ~/.ssh/id_* to fall back on
            env.pop("SSH_AUTH_SOCK", None)
            args = [BIN, "--json", "-i", inv, "--known-hosts", fleet.known_hosts, "exec", "--", "true"]
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 4, proc.stderr)
            self.assertIn("authentication", proc.stdout)
            out = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True).stdout
            for part in out.replace(";", "\n").splitlines():
                if "=" in part and part.split("=")[0].strip() in ("SSH_AUTH_SOCK", "SSH_AGENT_PID"):
                    key, value = part.strip().split("=", 1)
                    env[key] = value
            agent = int(env["SSH_AGENT_PID"])
            subprocess.run(["ssh-add", os.path.join(fleet.dir, "client_key")], env=env, check=True,
                           capture_output=True)
            proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        finally:
            if agent:
                os.kill(agent, 15)
            fleet.stop()
            tmp.cleanup()


class BastionTest(unittest.TestCase):
    """ProxyJump through a bastion, and ~/.ssh/config resolution."""

    @classmethod
    def setUpClass(cls):
        cls.fleet = Fleet(3, "127.0.11", log_level="DEBUG1")  # h01 is the bastion

    @classmethod
    def tearDownClass(cls):
        cls.fleet.stop()

    def setUp(self):
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_proxy_jump_carries_the_traffic(self):
        inv = self.tmp.write("inv.yaml", read(self.fleet.inventory).replace(
            "h02: {ansible_host: 127.0.11.2}", "h02: {ansible_host: 127.0.11.2, flotilla_proxy_jump: '127.0.11.1:2222'}").replace(
            "h03: {ansible_host: 127.0.11.3}", "h03: {ansible_host: 127.0.11.3, flotilla_proxy_jump: '127.0.11.1:2222'}"))
        before = len(self.fleet.log("h01"))
        proc, doc = run_json("-i", inv, "--known-hosts", self.fleet.known_hosts, "--ssh-config", "none",
                             "-l", "h02:h03", "exec", "--", "head -c 1000000 /dev/zero | tr '\\0' x")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["hosts"]["h02"]["stdout"], "x" * 1000000)
        self.assertEqual(doc["hosts"]["h03"]["stdout"], "x" * 1000000)
        time.sleep(0.3)
        # The bastion's sshd opened the tunnels: one bastion session, two channels.
        bastion_log = self.fleet.log("h01")[before:]
        for target in ("127.0.11.2", "127.0.11.3"):
            self.assertIn(f"server_request_direct_tcpip: originator 127.0.0.1 port 22, target {target} port 2222",
                          bastion_log)
        self.assertEqual(bastion_log.count("Accepted publickey"), 1)

    def test_bastion_host_key_is_checked_too(self):
        known = "".join(l for l in read(self.fleet.known_hosts).splitlines(keepends=True)
                        if not l.startswith("[127.0.11.1]"))
        known_path = self.tmp.write("known_hosts", known)
        inv = self.tmp.write("inv.yaml", read(self.fleet.inventory).replace(
            "h02: {ansible_host: 127.0.11.2}", "h02: {ansible_host: 127.0.11.2, flotilla_proxy_jump: '127.0.11.1:2222'}"))
        proc, doc = run_json("-i", inv, "--known-hosts", known_path, "--ssh-config", "none",
                             "-l", "h02", "exec", "--", "true")
        self.assertEqual(proc.returncode, 4)
        self.assertIn("via bastion", doc["hosts"]["h02"]["error"])
        self.assertIn("unknown host key for [127.0.11.1]:2222", doc["hosts"]["h02"]["error"])

    def test_ssh_config_hostname_port_user_key_and_proxyjump(self):
        key = os.path.join(self.fleet.dir, "client_key")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        config = self.tmp.write("ssh_config", f"""
# as an operator's ~/.ssh/config would say it
Host bastion
    HostName 127.0.11.1
Host game-*
    ProxyJump bastion
Host game-3
    HostName 127.0.11.3
Host *
    Port 2222
    User {user}
    IdentityFile {key}
Match host nothing
    Port 1
""")
        inv = self.tmp.write("inv.yaml", "all:\n  hosts:\n    game-3:\n    direct:\n      ansible_host: 127.0.11.2\n")
        proc, doc = run_json("-i", inv, "--known-hosts", self.fleet.known_hosts, "--ssh-config", config,
                             "exec", "--", "echo $SSH_CONNECTION")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        self.assertEqual(doc["hosts"]["game-3"]["stdout"].split()[2], "127.0.11.3")
        self.assertEqual(doc["hosts"]["direct"]["stdout"].split()[2], "127.0.11.2")
        self.assertNotIn("warning", proc.stderr)  # Match host nothing: evaluated, not applied
        # Inventory variables win over the config: a wrong port fails.
        inv = self.tmp.write("inv2.yaml", "all:\n  hosts:\n    game-3: {ansible_port: 1}\n")
        proc, doc = run_json("-i", inv, "--known-hosts", self.fleet.known_hosts, "--ssh-config", config,
                             "--connect-timeout", "2s", "exec", "--", "true")
        self.assertEqual(proc.returncode, 4)
        self.assertIn("127.0.11.3", doc["hosts"]["game-3"]["error"])

    def test_two_hop_proxy_jump_chain(self):
        # ssh_config's `ProxyJump first,second`: h01 opens a tunnel to h02,
        # h02 one to h03, and the command runs on h03.
        key = os.path.join(self.fleet.dir, "client_key")
        user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
        config = self.tmp.write("ssh_config", f"""
Host first
    HostName 127.0.11.1
Host second
    HostName 127.0.11.2
Host target
    HostName 127.0.11.3
    ProxyJump first,second
Host *
    Port 2222
    User {user}
    IdentityFile {key}
""")
        inv = self.tmp.write("inv.yaml", "all:\n  hosts:\n    target:\n")
        proc, doc = run_json("-i", inv, "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(doc["hosts"]["target"]["ssh"]["proxy_jump"],
                         f"{user}@127.0.11.1:2222,{user}@127.0.11.2:2222")
        before = {h: len(self.fleet.log(h)) for h in ("h01", "h02", "h03")}
        proc, doc = run_json("-i", inv, "--known-hosts", self.fleet.known_hosts, "--ssh-config", config,
                             "exec", "--", "echo $SSH_CONNECTION; head -c 1000000 /dev/zero | tr '\\0' x")
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        lines = doc["hosts"]["target"]["stdout"].split("\n", 1)
        self.assertEqual(lines[0].split()[2], "127.0.11.3")
        self.assertEqual(lines[1], "x" * 1000000)
        time.sleep(0.3)
        first, second = (self.fleet.log(h)[before[h]:] for h in ("h01", "h02"))
        self.assertIn("server_request_direct_tcpip: originator 127.0.0.1 port 22, target 127.0.11.2 port 2222",
                      first)
        self.assertIn("server_request_direct_tcpip: originator 127.0.0.1 port 22, target 127.0.11.3 port 2222",
                      second)
        self.assertNotIn("target 127.0.11.3", first)  # the first hop never reached the host itself
        # A hop whose host key is not known stops the chain, named.
        known = "".join(l for l in read(self.fleet.known_hosts).splitlines(keepends=True)
                        if not l.startswith("[127.0.11.2]"))
        known_path = self.tmp.write("known_hosts", known)
        proc, doc = run_json("-i", inv, "--known-hosts", known_path, "--ssh-config", config,
                             "exec", "--", "true")
        self.assertEqual(proc.returncode, 4)
        self.assertIn("unknown host key for [127.0.11.2]:2222", doc["hosts"]["target"]["error"])

    def test_proxy_jump_loop_is_refused_clearly(self):
        config = self.tmp.write("loop.cfg", "Host *\n    ProxyJump edge\n")
        inv = self.tmp.write("inv.yaml", "all:\n  hosts:\n    a:\n")
        proc = run("-i", inv, "--ssh-config", config, "exec", "--", "true")
        self.assertEqual(proc.returncode, 2)
        self.assertIn("more than 8 bastions in a chain", proc.stderr)


class LogsTest(unittest.TestCase):
    """`flotilla logs`: the 3 a.m. patrol of every host's error logs."""

    def test_grep_and_tail_across_hosts(self):
        fleet = Fleet(3, "127.0.8")
        tmp = TempDir()
        try:
            project = tmp.write("flotilla.yaml", f"""ssh: {{known_hosts: {fleet.known_hosts}}}
environments:
  dev: {{inventory: {fleet.inventory}}}
units:
  reward:
    hosts: fleet
    deploy_to: {tmp.path}/srv/reward
    logs: [shared/log/*.log]
    run: bin/reward
""")
            # All hosts share this machine's filesystem under tmp: one log for all.
            tmp.write("srv/reward/shared/log/reward.log", "INFO up\nERROR pay $(id) failed\nINFO ok\n")
            proc, doc = run_json("-f", project, "logs", "reward", "--grep", "ERROR")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            for host in ("h01", "h02", "h03"):
                self.assertEqual(doc["hosts"][host]["stdout"], "shared/log/reward.log:2:ERROR pay $(id) failed\n")
            proc = run("-f", project, "-l", "h02", "logs", "reward", "-n", "1")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertIn("h02 | shared/log/reward.log:INFO ok", proc.stdout)
            self.assertNotIn("h01", proc.stdout)
            proc, doc = run_json("-f", project, "logs", "reward", "--grep", "no'such")
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(doc["hosts"]["h01"]["stdout"], "")
        finally:
            fleet.stop()
            tmp.cleanup()


class VanishingHostTest(unittest.TestCase):
    """A host that dies mid-command is reported, not waited on."""

    def test_host_goes_away_mid_command(self):
        fleet = Fleet(3, "127.0.6")
        try:
            proc = subprocess.Popen([BIN, "--json", "-i", fleet.inventory, "--known-hosts", fleet.known_hosts,
                                     "exec", "--timeout", "60s", "--", "sleep 3"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1.5)
            fleet.kill_host("h02")
            start = time.monotonic()
            out, err = proc.communicate(timeout=30)
            self.assertLess(time.monotonic() - start, 10)
            import json
            doc = json.loads(out)
            self.assertEqual(proc.returncode, 4, err)
            self.assertTrue(doc["hosts"]["h01"]["ok"])
            self.assertTrue(doc["hosts"]["h03"]["ok"])
            self.assertTrue(doc["hosts"]["h02"]["unreachable"])
        finally:
            fleet.stop()


if __name__ == "__main__":
    unittest.main()
