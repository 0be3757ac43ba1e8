#!/usr/bin/env python3
"""On-call commands against their floor, on one local fleet (needs root).

The floor for a read of every host is `flotilla exec -- true`: connect to
every host, run nothing, report. The error patrol (`logs --grep --since
--count`) and `logs --grep` should cost no more than it; `status` (survey
and health check in one round trip per host) no more than `exec` of the
unit's health command itself, its own floor. Each command runs five times;
the median is printed with its ratio to the floor's median.

    sudo python3 bench/oncall_bench.py [--hosts 32] [--runs 5]
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fleet import bench_fleet  # noqa: E402
from deploy_bench import BIN, git, project, run  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with bench_fleet("oncall-bench", args.hosts, "127.0.27") as (tmp, fleet):
        repo = os.path.join(tmp, "game")
        os.makedirs(os.path.join(repo, "data"))
        with open(os.path.join(repo, "server.py"), "w") as f:
            f.write("import http.server, sys\nprint('ERROR boot check failed once', flush=True)\n"
                    "http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])),"
                    " http.server.SimpleHTTPRequestHandler).serve_forever()\n")
        with open(os.path.join(repo, "data", "readme"), "w") as f:
            f.write("bench\n")
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "v1")
        project(tmp, fleet, "/srv/flotilla-oncall-bench")
        run([BIN, "-e", "bench", "deploy", "game", "--ref", "master"], tmp)

        commands = {
            "exec -- true (floor)": ["exec", "--", "true"],
            # The health command's own cost: curl of the host's own address.
            "exec -- HEALTH (status floor)": ["exec", "--", 'set -- $SSH_CONNECTION; curl -fsS -o /dev/null "http://$3:8080/"'],
            "status": ["status", "game"],
            "logs --grep --since --count": ["logs", "game", "--grep", "ERROR", "--since", "15m", "--count"],
            "logs --grep": ["logs", "game", "--grep", "ERROR"],
        }
        medians = {}
        for name, command in commands.items():
            times = [run([BIN, "-e", "bench", *command], tmp) for _ in range(args.runs)]
            medians[name] = statistics.median(times)
        floor = medians["exec -- true (floor)"]
        print(f"\non-call reads of {args.hosts} hosts, median of {args.runs} runs")
        for name, t in medians.items():
            print(f"  {name:<32} {t:6.2f} s   {t / floor:5.2f}x exec -- true")
        print(f"  status / its floor (exec of the health command): "
              f"{medians['status'] / medians['exec -- HEALTH (status floor)']:.2f}x")


if __name__ == "__main__":
    main()
