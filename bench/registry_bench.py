#!/usr/bin/env python3
"""Controller egress: SSH push against pulls from an OCI registry, on one fleet.

The controller runs in its own network namespace, joined to the fleet by a
veth pair, so every byte it sends crosses one interface and is counted
there (its tx_bytes); the hosts and the registry share the root namespace
and talk to each other without touching it. A 20 MB build (40 incompressible
files) goes to every host twice over: once pushed over SSH, once through
Debian's docker-registry (TLS, htpasswd). Prints both egress figures, the
ratio, and what they mean at 500 hosts and 2 GB builds.

    sudo python3 bench/registry_bench.py [--hosts 32]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.dirname(__file__))
from registry import Registry  # noqa: E402
from deploy_bench import BIN, FLEET, make_game_repo, project  # noqa: E402

NS, HOST_LINK, NS_LINK, NET = "flotilla-bench", "flbench0", "flbench1", "10.198.0"
REGISTRY_ADDRESS = f"{NET}.200"


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def network_up(hosts):
    network_down()
    sh("ip", "netns", "add", NS)
    sh("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", NS_LINK)
    sh("ip", "link", "set", NS_LINK, "netns", NS)
    sh("ip", "addr", "add", f"{NET}.250/24", "dev", HOST_LINK)
    for i in list(range(1, hosts + 1)) + [200]:
        sh("ip", "addr", "add", f"{NET}.{i}/32", "dev", HOST_LINK)
    sh("ip", "link", "set", HOST_LINK, "up")
    sh("ip", "netns", "exec", NS, "ip", "addr", "add", f"{NET}.251/24", "dev", NS_LINK)
    sh("ip", "netns", "exec", NS, "ip", "link", "set", NS_LINK, "up")
    sh("ip", "netns", "exec", NS, "ip", "link", "set", "lo", "up")


def network_down():
    subprocess.run(["ip", "link", "del", HOST_LINK], capture_output=True)
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)


def controller_tx():
    out = subprocess.run(["ip", "netns", "exec", NS, "cat", f"/sys/class/net/{NS_LINK}/statistics/tx_bytes"],
                         check=True, capture_output=True, text=True).stdout
    return int(out)


def in_namespace(cmd, cwd, env=None):
    start = time.monotonic()
    proc = subprocess.run(["ip", "netns", "exec", NS, *cmd], cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.monotonic() - start


def artifacts(registry):
    return f"""artifacts:
  registry: {registry.url}
  repository: bench/game
  username: {registry.username}
  password: env:BENCH_REGISTRY_PASSWORD
  ca_file: {registry.ca}
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=32)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: a network namespace for the controller, a private /srv per host")
    tmp = tempfile.mkdtemp(prefix="flotilla-registry-bench-")
    fleet = os.path.join(tmp, "fleet")
    registry = None
    try:
        network_up(args.hosts)
        subprocess.run([FLEET, "start", fleet, "-n", str(args.hosts), "--net", NET], check=True,
                       stdout=subprocess.DEVNULL)
        registry = Registry(REGISTRY_ADDRESS)
        make_game_repo(os.path.join(tmp, "game"), 40, 512 * 1024)  # 20 MB, incompressible
        project(tmp, fleet, "/srv/bench-ssh-push", batch="100%", name="ssh.yaml")
        project(tmp, fleet, "/srv/bench-registry", batch="100%", name="registry.yaml",
                extra=artifacts(registry))
        env = dict(os.environ, BENCH_REGISTRY_PASSWORD=registry.password)
        in_namespace([BIN, "-f", "ssh.yaml", "build", "game", "--ref", "master"], tmp)  # outside the count

        results = {}
        for name in ("ssh", "registry"):
            before = controller_tx()
            seconds = in_namespace([BIN, "-f", f"{name}.yaml", "deploy", "game", "--ref", "master"], tmp, env)
            results[name] = (controller_tx() - before, seconds)
        pulled = sum(os.path.getsize(registry.blob_file(uri.rsplit(":", 1)[1]))
                     for uri, status in registry.requests("GET", r"/v2/bench/game/blobs/sha256:") if status == 200)

        mb = 1024 * 1024
        ssh_bytes, ssh_s = results["ssh"]
        reg_bytes, reg_s = results["registry"]
        build = 20 * mb
        overhead = max(0, reg_bytes - build) / args.hosts  # SSH control traffic per host
        print(f"\na 20 MB build to {args.hosts} hosts: bytes leaving the controller (its veth's tx_bytes)")
        print(f"  SSH push          {ssh_bytes / mb:8.1f} MB  {ssh_s:6.1f} s")
        print(f"  through registry  {reg_bytes / mb:8.1f} MB  {reg_s:6.1f} s   "
              f"(hosts pulled {pulled / mb:.1f} MB from the registry)")
        print(f"  SSH / registry    {ssh_bytes / reg_bytes:8.1f}x")
        print(f"  registry path: the build once plus {overhead / 1024:.0f} kB of SSH per host")
        hosts, size = 500, 2 * 1024 ** 3
        print(f"\non paper, {hosts} hosts and a 2 GB build:")
        print(f"  SSH push          {hosts * size / 1024 ** 4:8.2f} TB from the controller")
        print(f"  through registry  {(size + hosts * overhead) / 1024 ** 3:8.2f} GB from the controller")
    finally:
        if registry:
            registry.cleanup()
        subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)
        network_down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
