#!/usr/bin/env python3
"""Many hosts from one controller: `exec -- true` on a large local fleet.

Starts a fleet of --hosts sshd servers (default 200), runs `exec -- true`
with the default settings, then with each --forks of --try (hand-tuned), and
prints wall time and peak RSS of each, and the default's ratio to the best
hand-tuned run. Handshakes are what is expensive; the engine limits how many
run at once by itself (core/ssh/handshake_governor). The fleet lives on
127.60.0.0/16, so it can hold 500 hosts and more.

With --plain-user NAME the commands log in as NAME, a system user created
for this (login shell /bin/sh), instead of root: on this lab root's bash
runs `pyenv init` from ~/.bashrc for every command, in one /root all the
hosts share, and 200 of those at once queue on pyenv's lock file. A plain
user measures the engine without that.

    sudo python3 bench/many_hosts_bench.py [--hosts 200] [--try 10,25,50,100,200] [--plain-user NAME]
"""
import argparse
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fleet import bench_fleet  # noqa: E402
from exec_bench import BIN, measure  # noqa: E402


def plain_user(name, tmp, fleet):
    """NAME exists with /bin/sh as its shell and can read the fleet's key files."""
    if subprocess.run(["id", name], capture_output=True).returncode != 0:
        subprocess.run(["useradd", "--system", "--shell", "/bin/sh", "--home-dir", f"/var/lib/{name}",
                        "--create-home", name], check=True)
    # Not locked (sshd without PAM refuses a locked account), no password.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    # sshd reads authorized_keys as the user logging in.
    for d in (tmp, fleet):
        os.chmod(d, 0o755)
    os.chmod(os.path.join(fleet, "authorized_keys"), 0o644)
    inventory = os.path.join(fleet, "inventory.yaml")
    with open(inventory) as f:
        text = f.read()
    with open(inventory, "w") as f:
        f.write(re.sub(r"ansible_user: \S+", f"ansible_user: {name}", text))


def fleet_exec(fleet, forks=None):
    cmd = [BIN, "-i", os.path.join(fleet, "inventory.yaml"), "--known-hosts",
           os.path.join(fleet, "known_hosts")]
    if forks:
        cmd += ["--forks", str(forks)]
    wall, _, rss = measure(cmd + ["exec", "--", "true"])
    return wall, rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--try", dest="tries", default="10,25,50,100,200")
    parser.add_argument("--plain-user", help="log in as this user (created, shell /bin/sh), not root")
    args = parser.parse_args()
    with bench_fleet("many-hosts", args.hosts, "127.60") as (tmp, fleet):
        if args.plain_user:
            plain_user(args.plain_user, tmp, fleet)
        fleet_exec(fleet)  # every sshd warm, as for every run after
        default = fleet_exec(fleet)
        tuned = {int(f): fleet_exec(fleet, int(f)) for f in args.tries.split(",")}
        best_forks = min(tuned, key=lambda f: tuned[f][0])
        who = args.plain_user or "root"
        print(f"\nexec -- true on {args.hosts} hosts, as {who}")
        print(f"  default settings   {default[0]:6.1f} s   {default[1]:5.0f} MB peak RSS")
        for forks, (wall, rss) in tuned.items():
            print(f"  --forks {forks:<10} {wall:6.1f} s   {rss:5.0f} MB peak RSS")
        print(f"  default / best (--forks {best_forks}): {default[0] / tuned[best_forks][0]:.2f}x "
              f"(1.2 or less is the goal)")


if __name__ == "__main__":
    main()
