"""ssh_config as OpenSSH reads it: `flotilla inventory list --resolved` must
agree with `ssh -G` (the oracle) on where and as whom each host is reached.
Skips when the OpenSSH client is absent."""
import getpass
import json
import os
import random
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, run, run_json  # noqa: E402

SSH = shutil.which("ssh")

CONFIGS = {
    "comments_case_brackets_and_repeats": """
Host web1 # a comment, not patterns
    User from-web1
Host Web2
    User upper-only
Host w[1]
    Port 2201
Host db? !db9
    HostName %h.internal
    Port=2202
Host *
    IdentityFile ~/.ssh/shared
    IdentityFile ~/.ssh/shared
    IdentityFile "/keys/with space"
    User fallback
""",
    "first_value_wins_and_jumps": """
Host gs-*.kr
    User deploy
    ProxyJump ops@bastion.kr:2022
Host gs-01.kr
    User other
    Port 2200
Host bastion.kr
    HostName 10.0.0.1
Host *
    Port 22
""",
    "key_equals_quotes_and_service_ports": """
Host=web1
    HostName = 127.0.0.9
HOST db* "gs-01.kr"
    Port ssh
    User = "dba"
Host *
\tPort\t=\t2200
\tIdentityFile = "~/.ssh/with space"
""",
    # {dir} is the test's directory; {me} the local user.
    "include_where_it_stands": """
Include {dir}/conf.d/*.conf
Host db1
    Include {dir}/db-only
Host *
    Port 22
    User fallback
""",
    "match_criteria_and_the_final_pass": """
Host gs-01.kr
    HostName Real-GS01.Example
Match host real-gs01.example !user root
    Port 2201
Match originalhost GS-01.KR user deploy
    IdentityFile ~/.ssh/%n-%h-%r-%p
Match localuser {me}
    User deploy
Match final host real-gs01.example
    Port 9
Host real-gs01.example
    ProxyJump hop1,ops@hop2:2022
Match !host web* user deploy
    IdentityFile /keys/%h_%%_%u
Match all
    User nobody
""",
    "tokens_and_multi_hop_jumps": """
Host db?
    HostName %h.db.internal
    ProxyJump jump-a,jump-b
Host jump-a
    User ja
Host jump-b
    HostName 10.0.0.2
    Port 2022
Host web*
    ProxyJump none
Host * !edge !jump-?
    ProxyJump edge
""",
    # Match exec runs as ssh runs it, with its tokens; only the shell is
    # waited for (a daemon it leaves behind holds nothing up).
    "match_exec_with_tokens": """
Match host * exec "gpg-connect-agent UPDATESTARTUPTTY /bye"
    User gpg-user
Match exec "test %n = web1"
    User exec-web1
Match host db* exec "exit 1"
    Port 2299
Match host db* exec "true"
    Port 2298
Match exec "(sleep 30 >/dev/null 2>&1 &); test %h = gs-01.kr -a %p = 22"
    User forked
Match !host db* exec "echo to-stdout; test %r = %u"
    Port 2297
""",
}

INCLUDED = {
    "conf.d/10-web.conf": "Host web*\n    User web\nHost *\n    Port 2222\n",
    "conf.d/20-all.conf": "IdentityFile ~/.ssh/k_%u\n",
    "conf.d/skipped.txt": "User never\n",
    "db-only": "Port 5432\nUser dbuser\n",
}

HOSTS = ["web1", "web2", "Web2", "comment", "w1", "db1", "db9", "gs-01.kr", "gs-02.kr", "other"]


def expand_tokens(path, theirs, host):
    """ssh -G prints IdentityFile as written; expand what flotilla expands."""
    values = {"h": theirs["hostname"][0], "n": host, "p": theirs["port"][0], "r": theirs["user"][0],
              "u": getpass.getuser(), "d": os.path.expanduser("~")}
    out, i = "", 0
    while i < len(path):
        if path[i] == "%" and i + 1 < len(path):
            token = path[i + 1]
            out += "%" if token == "%" else values.get(token, "%" + token)
            i += 2
        else:
            out += path[i]
            i += 1
    return out


def ssh_g(config, host):
    out = subprocess.run([SSH, "-G", "-F", config, host], capture_output=True, text=True, timeout=30)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    seen = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(" ")
        seen.setdefault(key, []).append(value)
    return seen


def expand(path):
    return os.path.expanduser(path)


class SshConfigOracleTest(unittest.TestCase):
    def setUp(self):
        if not SSH:
            self.skipTest("ssh not installed")
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def test_resolved_connections_match_ssh_g(self):
        for name, text in CONFIGS.items():
            with self.subTest(name):
                for rel, body in INCLUDED.items():
                    self.tmp.write(os.path.join(name, rel), body)
                text = text.replace("{dir}", os.path.join(self.tmp.path, name)).replace("{me}", getpass.getuser())
                config = self.tmp.write(f"{name}.cfg", text)
                inventory = self.tmp.write(f"{name}.yaml", "all:\n  hosts:\n" +
                                           "".join(f"    {h}:\n" for h in HOSTS))
                proc, doc = run_json("-i", inventory, "--ssh-config", config, "inventory", "list",
                                     "--resolved")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                for host in HOSTS:
                    theirs = ssh_g(config, host)
                    ours = doc["hosts"][host]["ssh"]
                    where = f"{name}: {host}"
                    theirs.setdefault("identityfile", [])
                    theirs["identityfile"] = [f for f in theirs["identityfile"]
                                              if f.replace("~/.ssh/", "").startswith("id_") is False]
                    self.assertEqual(ours["hostname"], theirs["hostname"][0], where)
                    self.assertEqual(ours["port"], int(theirs["port"][0]), where)
                    self.assertEqual(ours["user"], theirs["user"][0], where)
                    if theirs["identityfile"]:
                        self.assertEqual(ours["identity_files"],
                                         [expand(expand_tokens(f, theirs, host)) for f in theirs["identityfile"]], where)
                    if "proxyjump" in theirs:
                        hops = theirs["proxyjump"][0].split(",")
                        self.assertIsNotNone(ours["proxy_jump"], where)
                        our_hops = ours["proxy_jump"].split(",")
                        self.assertEqual(len(our_hops), len(hops), where)
                        for hop, our_hop in zip(hops, our_hops):
                            hop_g = ssh_g(config, hop.split("@")[-1].rsplit(":", 1)[0])
                            user = hop.split("@")[0] if "@" in hop else hop_g["user"][0]
                            port = hop.rsplit(":", 1)[1] if ":" in hop.split("@")[-1] else hop_g["port"][0]
                            self.assertEqual(our_hop, f"{user}@{hop_g['hostname'][0]}:{port}", where)
                    else:
                        self.assertIsNone(ours["proxy_jump"], where)

    def test_random_configs_match_ssh_g(self):
        # Host and Match blocks in random order and combination: first value
        # wins, negations, Match criteria, the final pass, tokens.
        rng = random.Random(int(os.environ.get("FLOTILLA_COMPAT_SEED", "7")))
        me = getpass.getuser()
        hosts = ["web1", "Web1", "db1", "db9", "gs-01.kr", "x.kr", "real-web1", "other"]
        patterns = ["web*", "db?", "!db9", "*.kr", "*", "Web1", "!*.kr", "real*", "gs-0[1].kr", "x.kr"]
        criteria = ["host {p}", "!host {p}", "originalhost {p}", "!originalhost {p}", "user dba",
                    "!user dba", f"localuser {me}", "localuser nobody", "final", "canonical"]
        settings = ["HostName %h.int", "HostName real-%h", "HostName Real.Example", "User dba", "User u2",
                    "Port 2201", "Port 2202", "IdentityFile /k/%h-%r-%p", "IdentityFile ~/.ssh/k1",
                    "IdentityFile /k/%n_%u"]
        inventory = self.tmp.write("random.yaml", "all:\n  hosts:\n" + "".join(f"    {h}:\n" for h in hosts))
        for i in range(int(os.environ.get("FLOTILLA_COMPAT_COUNT", "12")) * 2):
            lines = []
            for _ in range(rng.randint(2, 7)):
                if rng.random() < 0.55:
                    lines.append("Host " + " ".join(rng.sample(patterns, rng.randint(1, 3))))
                elif rng.random() < 0.15:
                    lines.append("Match all")
                else:
                    chosen = rng.sample(criteria, rng.randint(1, 2))
                    lines.append("Match " + " ".join(c.format(p=rng.choice(["web*", "*.kr", "real*", "db1,db9"]))
                                                     for c in chosen))
                lines += ["    " + rng.choice(settings) for _ in range(rng.randint(1, 3))]
            text = "\n".join(lines) + "\n"
            with self.subTest(i, config=text):
                config = self.tmp.write(f"random{i}.cfg", text)
                proc, doc = run_json("-i", inventory, "--ssh-config", config, "inventory", "list", "--resolved")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                for host in hosts:
                    theirs = ssh_g(config, host)
                    ours = doc["hosts"][host]["ssh"]
                    self.assertEqual(ours["hostname"], theirs["hostname"][0], host)
                    self.assertEqual(ours["port"], int(theirs["port"][0]), host)
                    self.assertEqual(ours["user"], theirs["user"][0], host)
                    files = [f for f in theirs.get("identityfile", []) if not f.startswith("~/.ssh/id_")]
                    if files:
                        self.assertEqual(ours["identity_files"],
                                         [expand(expand_tokens(f, theirs, host)) for f in files], host)

    def test_directives_flotilla_cannot_honour_are_located_errors(self):
        inventory = self.tmp.write("inv.yaml", "all:\n  hosts:\n    web1:\n    other:\n")
        config = self.tmp.write("proxy.cfg", "Host web1\n    ProxyCommand nc %h %p\nHost *\n    User u\n")
        proc = run("-i", inventory, "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f"{config}:2:5: ProxyCommand cannot be honoured", proc.stderr)
        # Where it does not apply, it is no error; ProxyCommand none is fine.
        proc = run("-i", inventory, "-l", "other", "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        config = self.tmp.write("exec.cfg", "Match host other exec \"sleep 60\"\n    User x\n")
        proc = run("-i", inventory, "--ssh-config", config, "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(f'{config}:1:1: Match exec "sleep 60": did not finish within 10s', proc.stderr)
        self.assertIn("(host other)", proc.stderr)  # web1 never reaches the exec

    def test_canonical_domains_refuse_only_where_ssh_would_search_them(self):
        names = ["web1", "a.b.c", "127.0.0.9", "jumped", "always"]
        inventory = self.tmp.write("inv.yaml", "all:\n  hosts:\n" + "".join(f"    {h}:\n" for h in names))
        # The bastion is reached by an address, which ssh never canonicalizes.
        config = self.tmp.write("canon.cfg", "Host bastion\n    HostName 127.0.0.2\nHost jumped\n    ProxyJump bastion\n"
                                "Host always\n    ProxyJump bastion\n    CanonicalizeHostname always\n"
                                "Host *\n    CanonicalizeHostname yes\n    CanonicalDomains example.com\n")
        for host, refused in [("web1", True), ("a.b.c", False), ("127.0.0.9", False), ("jumped", False),
                              ("always", True)]:
            with self.subTest(host):
                proc = run("-i", inventory, "-l", host, "--ssh-config", config, "inventory", "list",
                           "--resolved")
                self.assertEqual(proc.returncode, 2 if refused else 0, proc.stderr)
                if refused:
                    self.assertIn("CanonicalizeHostname cannot be honoured for this host", proc.stderr)

if __name__ == "__main__":
    unittest.main()
