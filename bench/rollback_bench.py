#!/usr/bin/env python3
"""Rollback, side by side on one local fleet (needs root: each host has its own /srv).

v1 then v2 of a 20 MB build are deployed to every host; then the fleet goes
back to v1: `flotilla rollback` (releases still on the hosts, no build, no
transfer) against re-running the Ansible deploy playbook for v1 (ControlPersist
and pipelining on). Both restart in 25% batches and wait for the service.
Prints both wall times, the ratio, and the bytes flotilla's rollback put on
the loopback interface.

    sudo python3 bench/rollback_bench.py [--hosts 32]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploy_bench import (BIN, FLEET, PLAYBOOK, ansible_env, git, loopback_bytes,  # noqa: E402
                          make_game_repo, project, run, write_build)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: each fleet host needs its own /srv")
    tmp = tempfile.mkdtemp(prefix="flotilla-rollback-bench-")
    fleet = os.path.join(tmp, "fleet")
    subprocess.run([FLEET, "start", fleet, "-n", str(args.hosts), "--net", "127.0.26"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
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
        before = loopback_bytes()
        t_flotilla = run([BIN, "-e", "bench", "rollback", "game"], tmp)
        wire = loopback_bytes() - before

        with open(os.path.join(tmp, "deploy.yml"), "w") as f:
            f.write(PLAYBOOK)
        env = ansible_env(fleet, tmp, args.hosts)

        def ansible(version):
            return run(["ansible-playbook", "-i", f"{fleet}/inventory.yaml", "deploy.yml", "-f", str(args.hosts),
                        "-e", f"artifact={tarballs[version]} rel={version}"], tmp, env)
        ansible("v1")
        ansible("v2")
        t_ansible = ansible("v1")  # Ansible's "rollback": the deploy playbook for the previous version
        print(f"\nrollback of {args.hosts} hosts from v2 to v1 (20 MB build), 25% batches, restart + health check")
        print(f"  flotilla rollback       {t_flotilla:7.1f} s   ({wire / 1024:.0f} kB on the wire, SSH included)")
        print(f"  ansible-playbook v1     {t_ansible:7.1f} s   (ControlPersist + pipelining)")
        print(f"  flotilla faster by      {t_ansible / t_flotilla:7.1f}x")
    finally:
        subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
