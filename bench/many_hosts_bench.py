#!/usr/bin/env python3
"""Many hosts from one controller: `exec -- true` on a large local fleet.

Starts a fleet of --hosts sshd servers (default 200), runs `exec -- true`
with the default settings and with each --forks of --try (hand-tuned, with
--no-pacing), in turn, --rounds times, and prints the median wall time and peak RSS of each,
and the default's ratio to the best hand-tuned median. The engine learns by
itself how many handshakes (core/ssh/start_governor) and how many command
starts (core/ssh/command_starts) to have in flight. The fleet lives on
127.60.0.0/16, so it can hold 500 hosts and more.

As root on this lab every command runs root's ~/.bashrc, whose `pyenv init`
rehashes under a lock file in the one /root all the hosts share: the case
command pacing is for. With --plain-user NAME the commands log in as NAME,
a system user created for this (login shell /bin/sh), which measures the
engine without that.

    sudo python3 bench/many_hosts_bench.py [--hosts 200] [--try 5,10,25,50,100] [--rounds 3]
                                           [--plain-user NAME]
"""
import argparse
import os
import re
import statistics
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
    """`exec -- true` on the fleet: with the default settings, or by hand with --forks and
    without the engine's pacing (every command starts at once, up to --forks)."""
    cmd = [BIN, "-i", os.path.join(fleet, "inventory.yaml"), "--known-hosts",
           os.path.join(fleet, "known_hosts")]
    if forks:
        cmd += ["--forks", str(forks), "--no-pacing"]
    wall, _, rss = measure(cmd + ["exec", "--", "true"])
    return wall, rss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--try", dest="tries", default="5,10,25,50,100")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each running every setting once in turn; medians are shown")
    parser.add_argument("--plain-user", help="log in as this user (created, shell /bin/sh), not root")
    args = parser.parse_args()
    settings = [None] + [int(f) for f in args.tries.split(",")]
    with bench_fleet("many-hosts", args.hosts, "127.60") as (tmp, fleet):
        if args.plain_user:
            plain_user(args.plain_user, tmp, fleet)
        fleet_exec(fleet)  # every sshd warm, as for every run after
        # A shared machine's speed drifts over minutes: every setting runs
        # once per round, in turn, so each sees the same drift.
        runs = {f: [] for f in settings}
        for _ in range(args.rounds):
            for forks in settings:
                runs[forks].append(fleet_exec(fleet, forks))
        wall = {f: statistics.median(w for w, _ in runs[f]) for f in settings}
        rss = {f: max(r for _, r in runs[f]) for f in settings}
        tuned = settings[1:]
        best_forks = min(tuned, key=lambda f: wall[f])
        who = args.plain_user or "root"
        print(f"\nexec -- true on {args.hosts} hosts, as {who}: median of {args.rounds} rounds")
        for forks in settings:
            name = "default settings" if forks is None else f"--forks {forks} --no-pacing"
            each = " / ".join(f"{w:.1f}" for w, _ in runs[forks])
            print(f"  {name:<24} {wall[forks]:6.1f} s   {rss[forks]:5.0f} MB peak RSS   ({each})")
        print(f"  default / best (--forks {best_forks}): {wall[None] / wall[best_forks]:.2f}x "
              f"(1.2 or less is the goal)")

if __name__ == "__main__":
    main()
