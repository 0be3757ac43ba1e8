"""A benchmark's fleet: real sshd servers on loopback, each with its own /srv (needs root)."""
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
FLEET = os.path.join(ROOT, "scripts", "fleet.sh")


@contextlib.contextmanager
def bench_fleet(name, hosts, net):
    """(tmp, fleet): a temporary directory and a fleet of HOSTS sshd servers on NET in it;
    stopped and removed afterwards."""
    if os.geteuid() != 0:
        sys.exit("run as root: each fleet host needs its own /srv")
    tmp = tempfile.mkdtemp(prefix=f"flotilla-{name}-")
    fleet = os.path.join(tmp, "fleet")
    subprocess.run([FLEET, "start", fleet, "-n", str(hosts), "--net", net], check=True,
                   stdout=subprocess.DEVNULL)
    try:
        yield tmp, fleet
    finally:
        subprocess.run([FLEET, "stop", fleet], stdout=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)
