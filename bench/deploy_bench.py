#!/usr/bin/env python3
"""Rolling deploys, side by side on one local fleet (needs root: each host has its own /srv).

1. A 20 MB build (new content, nothing cached on the hosts) rolled out in 25%
   batches with a restart and a health check per host: `flotilla deploy`
   against the floor — bench/floor.sh, the same job by hand with plain
   OpenSSH (ControlMaster, one tar stream per host, batches of stop/switch/
   start/curl) — and an Ansible playbook (ControlPersist and pipelining on;
   unarchive, switch, restart, wait for the port). Prints the wall times and
   the ratios.
2. Delta: a 200 MB build deployed to a few hosts, then 1% of its files
   changed and deployed again; prints the bytes that crossed the loopback
   interface (SSH framing included) for each, and the ratio.

    sudo python3 bench/deploy_bench.py [--hosts 32] [--rounds 3] [--delta-hosts 4] [--skip-ansible] [--skip-delta]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("FLOTILLA_BIN", os.path.join(ROOT, "build", "cli", "flotilla"))
FLEET = os.path.join(ROOT, "scripts", "fleet.sh")

SERVER = """import http.server, os, sys
os.chdir(os.path.dirname(os.path.abspath(__file__)))
http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""

PLAYBOOK = """- hosts: fleet
  serial: "25%"
  gather_facts: false
  vars: {d: /srv/ansible-bench}
  tasks:
    - file: {path: "{{ d }}/releases/{{ rel }}", state: directory}
    - unarchive: {src: "{{ artifact }}", dest: "{{ d }}/releases/{{ rel }}"}
    - shell: >
        (kill $(cat {{ d }}/pid) 2>/dev/null; true) &&
        ln -sfn {{ d }}/releases/{{ rel }} {{ d }}/current.next && mv -Tf {{ d }}/current.next {{ d }}/current &&
        cd {{ d }}/current && setsid -f sh -c 'echo $$ > {{ d }}/pid; exec python3 server.py {{ ansible_host }} 8081'
        > /dev/null 2>&1 < /dev/null
    - wait_for: {host: "{{ ansible_host }}", port: 8081, timeout: 60}
"""


def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
               GIT_COMMITTER_EMAIL="b@b")
    subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, env=env)


def loopback_bytes():
    with open("/proc/net/dev") as f:
        for line in f:
            if line.strip().startswith("lo:"):
                return int(line.split(":")[1].split()[0])  # received on lo == sent on lo
    return 0


def write_build(repo, files, size, seed):
    """`files` random files of `size` bytes under repo/data, deterministic per seed."""
    os.makedirs(os.path.join(repo, "data"), exist_ok=True)
    for i in range(files):
        with open(os.path.join(repo, "data", f"f{i:04d}.bin"), "wb") as f:
            f.write(os.urandom(size) if seed is None else bytes((i * 31 + seed + k) % 251 for k in range(size)))


def make_game_repo(repo, files, size):
    """A git repository with the test server and `files` random files of `size` bytes."""
    os.makedirs(repo)
    with open(os.path.join(repo, "server.py"), "w") as f:
        f.write(SERVER)
    write_build(repo, files, size, None)
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")


def ansible_env(fleet, tmp, forks):
    """Ansible at its fastest on this fleet: ControlPersist and pipelining, strict host keys."""
    cp = os.path.join(tmp, "cp")
    os.makedirs(cp, exist_ok=True)
    return dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="True", ANSIBLE_PIPELINING="True",
                ANSIBLE_SSH_ARGS=f"-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={fleet}/known_hosts",
                ANSIBLE_SSH_CONTROL_PATH_DIR=cp, ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS=str(forks))


LAST_PHASES = []  # flotilla's "time: ..." line of each run, where the time went


def run(cmd, cwd, env=None):
    start = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    LAST_PHASES[:] = [line for line in proc.stdout.splitlines() if line.startswith("time: ")]
    return elapsed


def project(tmp, fleet, deploy_to, batch="25%", canary=0, name="flotilla.yaml", extra=""):
    """The bench's project file TMP/NAME; EXTRA is more top-level YAML (artifacts:)."""
    with open(os.path.join(tmp, name), "w") as f:
        f.write(f"""ssh: {{known_hosts: {fleet}/known_hosts, config: none, forks: 100}}
{extra}environments:
  bench: {{inventory: {fleet}/inventory.yaml}}
units:
  game:
    hosts: fleet
    deploy_to: {deploy_to}
    source: {{repo: game, build: "mkdir -p dist && cp -r data server.py dist/", output: dist}}
    run: python3 server.py {{{{ansible_host}}}} 8080
    health: {{command: "curl -fsS -o /dev/null http://{{{{ansible_host}}}}:8080/", timeout: 2s, retries: 200, interval: 50ms}}
    drain: {{timeout: 5s}}
    rollout: {{canary: {canary}, batch: {batch}, max_unavailable: {batch}}}
""")


def rolling_benchmark(args, tmp):
    fleet = os.path.join(tmp, "fleet")
    subprocess.run([FLEET, "start", fleet, "-n", str(args.hosts), "--net", "127.0.21"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        repo = os.path.join(tmp, "game")
        make_game_repo(repo, 40, 512 * 1024)  # 20 MB, incompressible
        project(tmp, fleet, "/srv/flotilla-bench")
        flotilla = [BIN, "-e", "bench", "deploy", "game", "--ref", "master"]
        floor = ["bash", os.path.join(ROOT, "bench", "floor.sh"), fleet]
        t_flotilla, t_floor, phases = [], [], []
        for r in range(args.rounds):
            if r > 0:  # new content: every round pushes the whole 20 MB again
                write_build(repo, 40, 512 * 1024, None)
                git(repo, "commit", "-qam", f"v{r + 1}")
            run([BIN, "-e", "bench", "build", "game", "--ref", "master"], tmp)  # build outside the timing
            # The floor: the same build, by hand with plain OpenSSH.
            floor_build = os.path.join(tmp, f"floor-build-{r}")
            os.makedirs(floor_build)
            shutil.copytree(os.path.join(repo, "data"), os.path.join(floor_build, "data"))
            shutil.copy(os.path.join(repo, "server.py"), floor_build)
            # Alternating who goes first evens out the machine's drift.
            for who in (("flotilla", "floor") if r % 2 == 0 else ("floor", "flotilla")):
                if who == "flotilla":
                    t_flotilla.append(run(flotilla, tmp))
                    phases.append(LAST_PHASES[-1] if LAST_PHASES else "")
                else:
                    t_floor.append(run([*floor, floor_build, f"v{r + 1}"], tmp))
            print(f"  round {r + 1}: flotilla {t_flotilla[-1]:.1f} s, floor {t_floor[-1]:.1f} s   {phases[-1]}")
        median = len(t_flotilla) // 2
        order = sorted(range(len(t_flotilla)), key=lambda i: t_flotilla[i])
        t_flotilla_median, phases_median = t_flotilla[order[median]], phases[order[median]]
        t_floor_median = sorted(t_floor)[median]

        t_ansible = None if args.skip_ansible else ansible_rolling(args, tmp, fleet, repo)
        print(f"\nrolling deploy of a 20 MB build to {args.hosts} hosts, 25% batches, restart + health check"
              f" (median of {args.rounds})")
        print(f"  flotilla deploy         {t_flotilla_median:7.1f} s   ({phases_median})")
        print(f"  floor (bench/floor.sh)  {t_floor_median:7.1f} s   (plain OpenSSH by hand)")
        if t_ansible is not None:
            print(f"  ansible-playbook        {t_ansible:7.1f} s   (ControlPersist + pipelining; one run)")
        print(f"  floor / flotilla        {t_floor_median / t_flotilla_median:7.2f}    (1.0 or more is the goal)")
        if t_ansible is not None:
            print(f"  ansible / flotilla      {t_ansible / t_flotilla_median:7.2f}x")
    finally:
        subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)


def ansible_rolling(args, tmp, fleet, repo):
    """The same job for Ansible: the same 20 MB as a tarball, same fleet."""
    tarball = os.path.join(tmp, "release.tar.gz")
    subprocess.run(["tar", "-czf", tarball, "-C", repo, "data", "server.py"], check=True)
    with open(os.path.join(tmp, "deploy.yml"), "w") as f:
        f.write(PLAYBOOK)
    env = ansible_env(fleet, tmp, args.hosts)
    ansible = ["ansible-playbook", "-i", f"{fleet}/inventory.yaml", "deploy.yml", "-f", str(args.hosts),
               "-e", f"artifact={tarball} rel=v1"]
    return run(ansible, tmp, env)


def delta_benchmark(args, tmp):
    fleet = os.path.join(tmp, "delta-fleet")
    subprocess.run([FLEET, "start", fleet, "-n", str(args.delta_hosts), "--net", "127.0.22"], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        work = os.path.join(tmp, "delta")
        repo = os.path.join(work, "game")
        make_game_repo(repo, 200, 1024 * 1024)  # 200 MB in 200 files
        project(work, fleet, "/srv/flotilla-delta", batch="100%")
        deploy = [BIN, "-e", "bench", "deploy", "game", "--ref", "master"]
        run([BIN, "-e", "bench", "build", "game", "--ref", "master"], work)
        before = loopback_bytes()
        t_full = run(deploy, work)
        full = loopback_bytes() - before
        for i in range(2):  # 1% of the files
            with open(os.path.join(repo, "data", f"f{i:04d}.bin"), "wb") as f:
                f.write(os.urandom(1024 * 1024))
        git(repo, "commit", "-qam", "patch")
        run([BIN, "-e", "bench", "build", "game", "--ref", "master"], work)
        before = loopback_bytes()
        t_delta = run(deploy, work)
        delta = loopback_bytes() - before
        mb = 1024 * 1024
        print(f"\n200 MB build to {args.delta_hosts} hosts, then 1% of its files changed")
        print(f"  first deploy   {full / mb:8.1f} MB on the wire  {t_full:6.1f} s")
        print(f"  patch deploy   {delta / mb:8.1f} MB on the wire  {t_delta:6.1f} s")
        print(f"  patch / full   {100 * delta / full:8.2f} %")
    finally:
        subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    parser.add_argument("--delta-hosts", type=int, default=4)
    parser.add_argument("--skip-ansible", action="store_true", help="only flotilla and the floor")
    parser.add_argument("--skip-delta", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="flotilla and the floor, alternating")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: each fleet host needs its own /srv")
    tmp = tempfile.mkdtemp(prefix="flotilla-deploy-bench-")
    try:
        rolling_benchmark(args, tmp)
        if not args.skip_delta:
            delta_benchmark(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
