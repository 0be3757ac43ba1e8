#!/usr/bin/env python3
"""`true` on every host of one local fleet: flotilla vs parallel-ssh vs Ansible.

Runs the three side by side on the same sshd fleet (scripts/fleet.sh), each
ROUNDS times, and prints median wall time, controller CPU (the tool's own
user+sys, children included) and ratios. Then flotilla alone on a larger
fleet with --forks equal to its size, with its peak memory.

    python3 bench/exec_bench.py [--hosts 32] [--big 200] [--rounds 3]
Needs: a build in build/ (./scripts/demo.sh or cmake), pssh and ansible (scripts/install-deps.sh).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("FLOTILLA_BIN", os.path.join(ROOT, "build", "cli", "flotilla"))
FLEET = os.path.join(ROOT, "scripts", "fleet.sh")


def measure(cmd, env=None):
    """Wall seconds, controller CPU seconds, peak RSS (MB) of one run."""
    start = time.monotonic()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        # wait4: this child's own CPU and peak memory, not every child's so far.
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err.read()[-2000:].decode()}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def median_of(rounds, cmd, env=None):
    runs = [measure(cmd, env) for _ in range(rounds)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs), max(r[2] for r in runs)


def start_fleet(directory, count, net):
    subprocess.run([FLEET, "start", directory, "-n", str(count), "--net", net], check=True,
                   stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--big", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flotilla-bench-") as tmp:
        fleet = os.path.join(tmp, "fleet")
        start_fleet(fleet, args.hosts, "127.0.3")
        try:
            inv, kh, key = (os.path.join(fleet, f) for f in ("inventory.yaml", "known_hosts", "client_key"))
            user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
            hosts_file = os.path.join(tmp, "pssh-hosts")
            with open(hosts_file, "w") as f:
                for i in range(1, args.hosts + 1):
                    f.write(f"127.0.3.{i}:2222\n")
            n = str(args.hosts)
            tools = {
                "flotilla": ([BIN, "-i", inv, "--known-hosts", kh, "--forks", n, "exec", "--", "true"], None),
                "parallel-ssh": (["parallel-ssh", "-h", hosts_file, "-l", user, "-p", n, "-t", "60",
                                  "-O", f"UserKnownHostsFile={kh}", "-O", "StrictHostKeyChecking=yes",
                                  "-O", f"IdentityFile={key}", "true"], None),
                "ansible": (["ansible", "all", "-i", inv, "-m", "raw", "-a", "true", "-f", n],
                            dict(os.environ, ANSIBLE_SSH_ARGS=f"-o UserKnownHostsFile={kh} -o ControlMaster=no",
                                 ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_NOCOLOR="1")),
            }
            results = {}
            for name, (cmd, env) in tools.items():
                measure(cmd, env)  # warm-up: page cache, sshd first start
                results[name] = median_of(args.rounds, cmd, env)
            print(f"\n`true` on {args.hosts} hosts, median of {args.rounds} (2 cores; sshd servers share them)")
            print(f"{'tool':<14}{'wall s':>9}{'ctl CPU s':>11}{'flotilla faster by':>21}")
            base = results["flotilla"][0]
            for name, (wall, cpu, _) in results.items():
                ratio = "" if name == "flotilla" else f"{wall / base:.1f}x"
                print(f"{name:<14}{wall:>9.2f}{cpu:>11.2f}{ratio:>21}")
            wall, cpu, _ = results["flotilla"]
            print(f"flotilla controller CPU: {cpu:.3f} s = {100 * cpu / (wall * os.cpu_count()):.1f}% "
                  f"of the machine's {os.cpu_count()} cores over its wall time")
        finally:
            subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)

        if args.big:
            big = os.path.join(tmp, "big")
            start_fleet(big, args.big, "127.0.4")
            try:
                cmd = [BIN, "-i", os.path.join(big, "inventory.yaml"), "--known-hosts",
                       os.path.join(big, "known_hosts"), "--forks", str(args.big), "exec", "--", "true"]
                wall, cpu, rss = measure(cmd)
                print(f"\nflotilla on {args.big} hosts, --forks {args.big}: {wall:.2f} s wall, "
                      f"{cpu:.2f} s controller CPU, peak RSS {rss:.1f} MB")
            finally:
                subprocess.run([FLEET, "stop", big], stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
