#!/usr/bin/env python3
"""Rollback, side by side on one local fleet (needs root: each host has its own /srv).

v1 then v2 of a 20 MB build are deployed to every host; then the fleet goes
back and forth between them: `flotilla rollback --to` (releases still on the
hosts, no build, no transfer) against the floor — bench/floor.sh with both
releases already on the hosts: connect, then the same batches by hand with
plain OpenSSH — alternating, median of the rounds. Then re-running the
Ansible deploy playbook for v1 (ControlPersist and pipelining on), Ansible's
way back. All restart in 25% batches and wait for the service. Prints the
wall times, the ratios, and the bytes flotilla's rollback put on the
loopback interface.

    sudo python3 bench/rollback_bench.py [--hosts 32] [--rounds 3] [--skip-ansible]
"""
import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_fleet import bench_fleet  # noqa: E402
from deploy_bench import (BIN, LAST_PHASES, PLAYBOOK, ROOT, ansible_env, git,  # noqa: E402
                          loopback_bytes, make_game_repo, project, run, write_build)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-ansible", action="store_true")
    args = parser.parse_args()
    with bench_fleet("rollback-bench", args.hosts, "127.0.26") as (tmp, fleet):
        repo = os.path.join(tmp, "game")
        make_game_repo(repo, 40, 512 * 1024)  # 20 MB, incompressible
        project(tmp, fleet, "/srv/flotilla-rollback-bench")
        deploy = [BIN, "-e", "bench", "deploy", "game", "--ref", "master"]
        tarballs = {}
        for version in ("v1", "v2"):
            if version == "v2":
                write_build(repo, 40, 512 * 1024, None)
                git(repo, "commit", "-qam", "v2")
            run(deploy, tmp)
            tarballs[version] = os.path.join(tmp, f"{version}.tar.gz")
            subprocess.run(["tar", "-czf", tarballs[version], "-C", repo, "data", "server.py"], check=True)
        # The floor's own copies of both releases, pushed outside the timing.
        floor = ["bash", os.path.join(ROOT, "bench", "floor.sh"), fleet]
        for version in ("v1", "v2"):
            build = os.path.join(tmp, f"floor-{version}")
            os.makedirs(build)
            subprocess.run(["tar", "-xzf", tarballs[version], "-C", build], check=True)
            run([*floor, build, version], tmp)
        t_flotilla, t_floor, wire, phases = [], [], [], []
        for r in range(args.rounds):
            to = ("1", "v1") if r % 2 == 0 else ("2", "v2")  # snapshot 1 is v1, 2 is v2
            for who in (("flotilla", "floor") if r % 2 == 0 else ("floor", "flotilla")):
                if who == "flotilla":
                    before = loopback_bytes()
                    t_flotilla.append(run([BIN, "-e", "bench", "rollback", "game", "--to", to[0]], tmp))
                    wire.append(loopback_bytes() - before)
                    phases.append(LAST_PHASES[-1] if LAST_PHASES else "")
                else:
                    t_floor.append(run([*floor, "-", to[1]], tmp))
            print(f"  round {r + 1}: flotilla {t_flotilla[-1]:.1f} s, floor {t_floor[-1]:.1f} s   {phases[-1]}")
        t_fl = statistics.median(t_flotilla)
        t_fo = statistics.median(t_floor)
        print(f"\nrollback of {args.hosts} hosts between v1 and v2 (20 MB build), 25% batches, restart + health"
              f" check (median of {args.rounds})")
        print(f"  flotilla rollback       {t_fl:7.1f} s   ({statistics.median(wire) / 1024:.0f} kB on the wire,"
              f" SSH included)")
        print(f"  floor (connect+batches) {t_fo:7.1f} s   (bench/floor.sh - RELEASE)")
        print(f"  floor / flotilla        {t_fo / t_fl:7.2f}    (1.0 or more is the goal)")
        if args.skip_ansible:
            return
        with open(os.path.join(tmp, "deploy.yml"), "w") as f:
            f.write(PLAYBOOK)
        env = ansible_env(fleet, tmp, args.hosts)

        def ansible(version):
            return run(["ansible-playbook", "-i", f"{fleet}/inventory.yaml", "deploy.yml", "-f", str(args.hosts),
                        "-e", f"artifact={tarballs[version]} rel={version}"], tmp, env)
        ansible("v1")
        ansible("v2")
        t_ansible = ansible("v1")  # Ansible's "rollback": the deploy playbook for the previous version
        print(f"  ansible-playbook v1     {t_ansible:7.1f} s   (ControlPersist + pipelining; one run)")
        print(f"  ansible / flotilla      {t_ansible / t_fl:7.1f}x")


if __name__ == "__main__":
    main()
