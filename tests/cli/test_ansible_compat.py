"""flotilla's inventory view must equal ansible-inventory's, host for host.

ansible-inventory (Debian package `ansible`) is the oracle: for each inventory
below, and for random ones, the hosts, transitive group membership and each
host's resolved variables must be identical. Skips when ansible is absent.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import TempDir, run, run_json  # noqa: E402

ANSIBLE = shutil.which("ansible-inventory")

HANDWRITTEN = {
    "nested_precedence": """
all:
  vars: {x: all, a: 1}
  hosts: {solo: }
  children:
    game:
      vars: {x: game, b: 2}
      children:
        kr:
          vars: {x: kr}
          hosts:
            gs[01:03].kr: {y: 1}
        jp: {hosts: {gs01.jp: }}
    reward:
      vars: {x: reward}
      hosts: {gs01.kr: {x: host}, rw01: }
""",
    "siblings_by_name_and_priority": """
all:
  children:
    b: {vars: {x: b}, hosts: {h1: , h2: }}
    a: {vars: {x: a}, hosts: {h1: , h2: }}
    c: {vars: {x: c, ansible_group_priority: 0}, hosts: {h2: }}
    d: {vars: {x: d, ansible_group_priority: 5}, hosts: {h3: , h1: }}
""",
    "top_level_groups_without_all": """
web:
  hosts: {w1: , w2: {ansible_port: 2200}}
  vars: {role: web}
  children:
    canary: {hosts: {w1: }, vars: {role: canary}}
db:
  hosts: {d1: }
""",
    "yaml11_values": """
all:
  hosts: {h: }
  vars:
    b1: yes
    b2: On
    b3: off
    b4: "yes"
    i1: 0x1F
    i2: 017
    i3: 0b11
    i4: 1_000
    i5: 190:20:30
    i6: +12
    i7: -0x1A
    s1: 08
    s2: 0o17
    s3: 1e3
    f1: 1.5
    f2: .5
    f3: 1.0e+3
    f4: 1_0.5
    n1: ~
    n2: null
    n3:
    n4: Null
    d1: 2001-12-14
    d2: 2001-12-14t21:59:43.10-05:00
    d3: 2001-12-14 21:59:43.10 Z
    t1: !!str 123
    t2: !!int "42"
    l: [1, yes, "no", 0x10]
    m: {k: on, 2: a, yes: b}
""",
    "ranges_and_ports": """
all:
  hosts:
    gs[01:03]:2222:
    db-[a:c]:
    st[0:10:5]:
    x[1:2]y[a:b]:
    n[:2]:
    "[::1]:2200":
    ip6:
      ansible_host: "fe80::1"
    10.0.0.5:
    10.0.0.6:2022:
""",
    "anchors_aliases_merge": """
.common: &common {ansible_user: deploy, region: kr}
all:
  vars:
    <<: *common
    region: jp
  children:
    web:
      vars: &webvars {port: 80, tags: [a, b]}
      hosts:
        w1: *webvars
        w2:
          <<: [*webvars, *common]
          port: 8080
""",
    "string_shorthand_sections": """
all:
  children:
    web:
      hosts: w1
    app:
      children: web
""",
    "ungrouped_and_repeats": """
all:
  hosts:
    a: {v: 1}
    b:
  children:
    ungrouped:
      hosts: {c: , a: {v: 2}}
    g1: {hosts: {b: {v: 3}}}
    g2: {hosts: {b: {v: 4}}}
""",
    "diamond": """
all:
  children:
    top:
      vars: {x: top}
      children:
        left: {vars: {x: left}, children: {bottom: }}
        right: {vars: {x: right}, children: {bottom: {}}}
    bottom:
      hosts: {h1: }
      vars: {y: bottom}
    deep:
      children:
        deeper:
          children:
            deepest: {hosts: {h1: }, vars: {x: deepest}}
""",
    "dict_vars_replace_not_merge": """
all:
  vars: {cfg: {a: 1, b: 2}}
  children:
    g:
      vars: {cfg: {a: 3}}
      hosts: {h: }
""",
    "skipped_keys_and_empty_groups": """
all:
  hosts: {a: }
  unexpected: {x: 1}
  children:
    empty:
    also_empty: {}
    nohosts: {vars: {x: 1}}
notagroup: [1, 2]
""",
    "quoted_and_unicode": """
all:
  hosts:
    "h1": {greeting: "안녕", emoji: "🐉", q: 'it''s', ml: "a\\nb"}
    h2:
      folded: >-
        one
        two
      literal: |
        x
        y
""",
    "duplicate_keys_last_wins": """
all:
  hosts:
    a: {x: 1, x: 2}
  vars: {y: 1}
  vars: {z: 2}
""",
}


def ansible_view(path, plugin="yaml", cwd=None):
    env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED=plugin, ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="false")
    proc = subprocess.run([ANSIBLE, "-i", path, "--list"], capture_output=True, text=True, env=env,
                          cwd=cwd or os.path.dirname(path), timeout=120)
    if proc.returncode != 0:
        raise AssertionError(f"ansible-inventory failed on {path}: {proc.stderr}")
    raw = json.loads(proc.stdout)
    hostvars = raw.get("_meta", {}).get("hostvars", {})
    groups = {name: g for name, g in raw.items() if name != "_meta"}

    def members(name, seen=()):
        if name == "all":
            return set(hostvars)
        g = groups.get(name, {})
        out = set(g.get("hosts", []))
        for child in g.get("children", []):
            if child not in seen:
                out |= members(child, seen + (name,))
        return out

    # Hosts with no vars do not appear in _meta; collect them from groups.
    all_hosts = set(hostvars)
    for g in groups.values():
        all_hosts |= set(g.get("hosts", []))
    hostvars = {h: hostvars.get(h, {}) for h in all_hosts}
    membership = {name: members(name) for name in groups}
    membership["all"] = set(all_hosts)
    return hostvars, membership


class AnsibleCompatTest(unittest.TestCase):
    def setUp(self):
        if not ANSIBLE:
            self.skipTest("ansible-inventory not installed (apt-get install ansible)")
        self.tmp = TempDir()

    def tearDown(self):
        self.tmp.cleanup()

    def compare(self, name, text, filename="inventory.yaml", plugin="yaml"):
        path = self.tmp.write(os.path.join(name, filename), text)
        self.compare_source(name, path, plugin)

    def compare_layout(self, name, files, source):
        """FILES: relative path -> text, written under a fresh directory; SOURCE is what -i names."""
        for rel, text in files.items():
            self.tmp.write(os.path.join(name, rel), text)
        # Ansible also reads group_vars/ in its working directory (as a
        # playbook's): flotilla has no playbook directory, so run it elsewhere.
        elsewhere = os.path.join(self.tmp.path, name + "-cwd")
        os.makedirs(elsewhere)
        self.compare_source(name, os.path.join(self.tmp.path, name, source), "yaml,ini", elsewhere)

    def compare_source(self, name, path, plugin, cwd=None):
        theirs_vars, theirs_groups = ansible_view(path, plugin, cwd)
        proc, ours = run_json("-i", path, "inventory", "list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(set(ours["hosts"]), set(theirs_vars), name)
        for host, vars_ in theirs_vars.items():
            self.assertEqual(ours["hosts"][host]["vars"], vars_, f"{name}: vars of {host}")
        for group, members in theirs_groups.items():
            self.assertEqual(set(ours["groups"].get(group, [])), members, f"{name}: group {group}")
        for group, members in ours["groups"].items():
            if group not in theirs_groups:
                self.assertEqual(members, [], f"{name}: group {group} only in flotilla")
        for host in theirs_vars:
            expected = sorted(g for g, m in theirs_groups.items() if host in m and g != "all")
            self.assertEqual(ours["hosts"][host]["groups"], expected, f"{name}: groups of {host}")

    def test_handwritten_inventories(self):
        for name, text in HANDWRITTEN.items():
            with self.subTest(name):
                self.compare(name, text)

    def test_handwritten_ini_inventories(self):
        for name, text in INI_HANDWRITTEN.items():
            with self.subTest(name):
                self.compare(name, text, filename="hosts", plugin="ini")

    def test_host_patterns_select_the_hosts_ansible_selects_in_its_order(self):
        # Subscripts count in each group's own order (its hosts, then its
        # children's), with duplicates from several matching groups kept.
        path = self.tmp.write("patterns/hosts", """
z9
[web]
w3
w1
[kr]
w1
k1
[app:children]
kr
web
[app]
a1
[gx]
w3
[gy]
w3
k1
""")
        env = dict(os.environ, ANSIBLE_INVENTORY_ENABLED="ini", ANSIBLE_LOCALHOST_WARNING="false",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_DEPRECATION_WARNINGS="false")
        for pattern in ["web[0]", "web[1]", "app[0]", "app[1]", "app[-1]", "app[1:3]", "g*[1]", "g*[2]",
                        "all[0]", "all[-1]", "web:kr", "app:!w1", "app:&kr", "k*", "all"]:
            with self.subTest(pattern):
                theirs = subprocess.run([shutil.which("ansible"), "-i", path, pattern, "--list-hosts"],
                                        capture_output=True, text=True, env=env, timeout=60)
                self.assertEqual(theirs.returncode, 0, theirs.stderr)
                expected = [line.strip() for line in theirs.stdout.splitlines()[1:] if line.strip()]
                proc = run("-q", "-i", path, "-l", pattern, "inventory", "list")
                self.assertEqual(proc.returncode, 0, proc.stderr)
                ours = [line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()]
                self.assertEqual(ours, expected, pattern)

    def test_directories_and_vars_files(self):
        for name, (files, source) in LAYOUTS.items():
            with self.subTest(name):
                self.compare_layout(name, files, source)

    def test_vault_values_and_vaulted_files(self):
        # Encrypted here with ansible-vault itself: `!vault` values stay in
        # Ansible's JSON form, as ansible-inventory prints them; a vars file
        # encrypted whole is read with the password, its strings redacted.
        vault = shutil.which("ansible-vault")
        if not vault:
            self.skipTest("ansible-vault not installed")
        password = self.tmp.write("vault/.pass", "correct horse\n")
        wrong = self.tmp.write("vault/.wrong", "battery staple\n")

        def encrypt_string(value):
            proc = subprocess.run([vault, "encrypt_string", "--vault-password-file", password, value],
                                  capture_output=True, text=True, check=True, timeout=60)
            return proc.stdout.strip()

        self.tmp.write("vault/hosts", "[web]\nh1\nh2\n[db]\nd1 ansible_port=2222\n")
        self.tmp.write("vault/group_vars/all/vars.yml",
                       f"db_password: {encrypt_string('s3cret-pw')}\nplain: 1\n")
        self.tmp.write("vault/host_vars/h1.yml", f"ansible_host: {encrypt_string('127.0.0.5')}\n")
        whole = self.tmp.write("vault/group_vars/web/vault.yml", "api_token: tok-123456\nweb_port: 8080\n")
        subprocess.run([vault, "encrypt", "--vault-password-file", password, whole],
                       capture_output=True, check=True, timeout=60)
        source = os.path.join(self.tmp.path, "vault", "hosts")

        env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
        theirs = subprocess.run([ANSIBLE, "-i", source, "--list", "--vault-password-file", password],
                                capture_output=True, text=True, env=env, timeout=120, cwd=self.tmp.path)
        self.assertEqual(theirs.returncode, 0, theirs.stderr)
        theirs_vars = json.loads(theirs.stdout)["_meta"]["hostvars"]
        proc, ours = run_json("-i", source, "--vault-password-file", password, "inventory", "list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        for host, vars_ in theirs_vars.items():
            expected = dict(vars_)
            if "api_token" in expected:
                expected["api_token"] = "[REDACTED]"  # from the file encrypted whole
            self.assertEqual(ours["hosts"][host]["vars"], expected, host)
        self.assertNotIn("s3cret-pw", proc.stdout + proc.stderr)
        self.assertNotIn("tok-123456", proc.stdout + proc.stderr)

        # The connection uses the decrypted ansible_host; ANSIBLE_VAULT_PASSWORD_FILE works too.
        proc, resolved = run_json("-i", source, "--ssh-config", "none", "inventory", "list", "--resolved",
                                  env={"ANSIBLE_VAULT_PASSWORD_FILE": password})
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertNotIn("127.0.0.5", proc.stdout)
        self.assertEqual(resolved["hosts"]["d1"]["ssh"]["port"], 2222)

        # No password, or a wrong one: exit 2 with a one-line error naming what it could not open.
        for extra, says in [([], "no vault password was given"), (["--vault-password-file", wrong], "does not open it")]:
            proc = run("-i", source, *extra, "inventory", "list")
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn("group_vars/web/vault.yml", proc.stderr)
            self.assertIn(says, proc.stderr)
        os.remove(whole)
        proc = run("-i", source, "-l", "d1", "--ssh-config", "none", "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 0, proc.stderr)  # d1 needs no vault value
        proc = run("-i", source, "-l", "h1", "--ssh-config", "none", "inventory", "list", "--resolved")
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("host h1: variable ansible_host", proc.stderr)

    def test_an_inventory_encrypted_whole_has_its_values_redacted(self):
        vault = shutil.which("ansible-vault")
        if not vault:
            self.skipTest("ansible-vault not installed")
        password = self.tmp.write("whole/.pass", "correct horse\n")
        inventory = self.tmp.write("whole/hosts.yml",
                                   "all:\n  vars: {db_password: s3cret-whole-pw}\n  hosts:\n"
                                   "    h1: {api_token: tok-whole-123456, ansible_port: 2222}\n")
        subprocess.run([vault, "encrypt", "--vault-password-file", password, inventory],
                       capture_output=True, check=True, timeout=60)
        proc, ours = run_json("-i", inventory, "--vault-password-file", password, "inventory", "list")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(ours["hosts"]["h1"]["vars"]["api_token"], "[REDACTED]")
        self.assertEqual(ours["hosts"]["h1"]["vars"]["ansible_port"], 2222)  # numbers are not secret words
        self.assertNotIn("s3cret-whole-pw", proc.stdout + proc.stderr)
        self.assertNotIn("tok-whole-123456", proc.stdout + proc.stderr)

    def test_random_ini_inventories(self):
        rng = random.Random(int(os.environ.get("FLOTILLA_COMPAT_SEED", "7")))
        for i in range(int(os.environ.get("FLOTILLA_COMPAT_COUNT", "12"))):
            with self.subTest(i):
                self.compare(f"ini{i}", random_ini_inventory(rng), filename="hosts", plugin="ini")

    def test_random_inventories(self):
        rng = random.Random(int(os.environ.get("FLOTILLA_COMPAT_SEED", "7")))
        for i in range(int(os.environ.get("FLOTILLA_COMPAT_COUNT", "12"))):
            with self.subTest(i):
                self.compare(f"random{i}", random_inventory(rng))


INI_HANDWRITTEN = {
    "values_as_python_literals": r"""
# comment
; also a comment
solo ansible_port=2200 note="a b" flag=True none=None num=0x1F s=yes l='[1, 2]' d="{'a': 1, 2: 'b'}" t="(1, 'x')" f=1.5e3 neg=-7 u=1_000 lead=08 str="'quoted'" e=
[web]
w[01:03] role=web
w04:2222
[web:vars]
role = frontend
port=8080
motto = keep # calm
semi = a ; b
[db]
d1 ansible_host=10.0.0.5
[app:children]
web
db
[app:vars]
tier=app
[all:vars]
x=1.5
y = '08'
z = 08
""",
    "children_declared_later_and_comments": r"""
[parent:children]
child  # trailing
[child]
h1 v=1 c=x#comment d=\$HOME q="it's" w='a "b"'
[child:vars]
v=2
[grand:children]
parent
""",
    "host_in_many_groups_last_wins": """
[a]
h1 v=1
h2
[b]
h1 v=2 w=3
h2:2200
[c:children]
a
b
[c:vars]
v=3
[a:vars]
ansible_group_priority=5
""",
    "ungrouped_and_all_vars": """
lonely
other ansible_user=deploy
[all:vars]
ansible_user=ops
[g]
other
""",
}

LAYOUTS = {
    # An INI file with group_vars/ and host_vars/ beside it: files, .yml,
    # directories of files; group_vars/all under other groups' INI vars.
    "ini_with_vars_files": ({
        "hosts": "[web]\nw1\nw2 x=host\n[db]\nd1\n[app:children]\nweb\ndb\n[web:vars]\nx=ini_web\ny=ini_web\n",
        "group_vars/all.yml": "x: gv_all\nz: gv_all\nonly_all: 1\n",
        "group_vars/app": "y: gv_app\nlist: [1, 2]\n",
        "group_vars/web/10-main.yml": "y: gv_web_main\nd: {a: 1}\n",
        "group_vars/web/20-more.yaml": "d: {b: 2}\n",
        "group_vars/web/notes.txt": "ignored: true\n",
        "host_vars/w1.yaml": "x: hv_w1\n",
        "host_vars/d1/vars": "z: hv_d1\n",
        "group_vars/nosuchgroup.yml": "never: 1\n",
    }, "hosts"),
    # A directory of sources: INI and YAML files together, with its own vars.
    "directory_of_sources": ({
        "inv/01-base": "[game]\ng1\ng2\n",
        "inv/02-more.yml": "all:\n  children:\n    game:\n      hosts:\n        g3: {port: 1}\n    ops:\n      hosts: {o1: }\n",
        "inv/03-children": "[everything:children]\ngame\nops\n",
        "inv/README.md": "not an inventory\n",
        "inv/old.ini": "[stale]\ns1\n",
        "inv/.hidden": "[hidden]\nx1\n",
        "inv/group_vars/game.json": "{\"role\": \"game\", \"port\": 80}\n",
        "inv/group_vars/everything.yml": "role: any\nregion: kr\n",
        "inv/host_vars/g2.yml": "role: special\n",
        "group_vars/game.yml": "outside: 1\n",
    }, "inv"),
}

INI_VALUES = ["1", "0x1F", "True", "False", "None", "yes", "'quoted'", "'[1, 2]'", "\"{'a': 1}\"", "1.5", "08",
              "-3", "text", "1_000", "0o17", "'08'", "\"a b\"", "1e3", "[1,2]", ""]


def random_ini_inventory(rng):
    groups = [f"g{i}" for i in range(rng.randint(2, 6))]
    hosts = [f"h{i:02d}" for i in range(rng.randint(1, 8))]
    lines = []
    for h in rng.sample(hosts, rng.randint(0, len(hosts))):
        lines.append(f"{h} x={rng.choice(INI_VALUES)}" if rng.random() < 0.5 else h)
    order = groups[:]
    rng.shuffle(order)
    for g in order:
        lines.append(f"[{g}]")
        for h in rng.sample(hosts, rng.randint(0, min(3, len(hosts)))):
            lines.append(f"{h} y={rng.choice(INI_VALUES)}" if rng.random() < 0.4 else h)
        if rng.random() < 0.6:
            lines.append(f"[{g}:vars]")
            for v in rng.sample(["x", "y", "z", "ansible_group_priority"], rng.randint(1, 3)):
                value = str(rng.randint(0, 3)) if v == "ansible_group_priority" else rng.choice(INI_VALUES)
                lines.append(f"{v} = {value}")
        later = groups[groups.index(g) + 1:]
        kids = [c for c in later if rng.random() < 0.3]
        if kids:
            lines.append(f"[{g}:children]")
            lines.extend(kids)
    if rng.random() < 0.5:
        lines += ["[all:vars]", f"x={rng.choice(INI_VALUES)}"]
    return "\n".join(lines) + "\n"


SCALARS = ["yes", "no", "on", "Off", "0x1F", "017", "08", "1_000", "190:20:30", "1.5", "1e3", "~", "",
           "2001-12-14", "'quoted'", "[1, yes]", "{a: on}", "0o17", "+12", ".5", "True", "NULL", "text",
           "\"017\"", "-3", "0", "1.0e+3"]


def random_inventory(rng):
    groups = [f"g{i}" for i in range(rng.randint(2, 7))]
    hosts = [f"h{i:02d}" for i in range(rng.randint(1, 9))]
    children = {g: set() for g in groups}
    for i, g in enumerate(groups):
        for other in groups[i + 1:]:
            if rng.random() < 0.3:
                children[g].add(other)  # only later groups: no loops

    def block(g, indent):
        pad = " " * indent
        out = [f"{pad}{g}:"]
        if rng.random() < 0.7:
            out.append(f"{pad}  vars:")
            for v in rng.sample(["x", "y", "z", "ansible_group_priority"], rng.randint(1, 3)):
                value = str(rng.randint(0, 3)) if v == "ansible_group_priority" else rng.choice(SCALARS)
                out.append(f"{pad}    {v}: {value}")
        members = rng.sample(hosts, rng.randint(0, min(3, len(hosts))))
        if members:
            out.append(f"{pad}  hosts:")
            for h in members:
                if rng.random() < 0.4:
                    out.append(f"{pad}    {h}: {{x: {rng.choice(SCALARS) or 'null'}}}")
                else:
                    out.append(f"{pad}    {h}:")
        if children[g]:
            out.append(f"{pad}  children:")
            for c in sorted(children[g]):
                out.extend(block(c, indent + 4) if rng.random() < 0.3 else [f"{pad}    {c}:"])
        return out

    lines = ["all:", "  vars:", f"    x: {rng.choice(SCALARS)}", "  children:"]
    for g in groups:
        lines.extend(block(g, 4))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    unittest.main()
