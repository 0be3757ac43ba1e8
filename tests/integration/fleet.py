"""A local fleet of real sshd servers for integration tests (scripts/fleet.sh)."""
import atexit
import os
import signal
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import SOURCE  # noqa: E402

FLEET_SH = os.path.join(SOURCE, "scripts", "fleet.sh")


class Fleet:
    """Starts COUNT hosts on NET.1..COUNT; stopped on stop() or at exit, even after failures."""

    def __init__(self, count, net, pairs=False, log_level=None):
        self.dir = tempfile.mkdtemp(prefix="flotilla-fleet-")
        self.count, self.net = count, net
        args = [FLEET_SH, "start", self.dir, "-n", str(count), "--net", net]
        if pairs:
            args.append("--pairs")
        if log_level:
            args += ["--log-level", log_level]
        atexit.register(self.stop)
        subprocess.run(args, check=True, capture_output=True, text=True)
        self.inventory = os.path.join(self.dir, "inventory.yaml")
        self.known_hosts = os.path.join(self.dir, "known_hosts")

    def host_dir(self, name):
        return os.path.join(self.dir, "hosts", name)

    def flotilla_home(self, name):
        """The ~/.flotilla that host NAME's SSH sessions see (private per host as root)."""
        private = os.path.join(self.host_dir(name), "dot-flotilla")
        return private if os.path.isdir(private) else os.path.expanduser("~/.flotilla")

    def log(self, name):
        with open(os.path.join(self.host_dir(name), "sshd.log"), errors="replace") as f:
            return f.read()

    def kill_host(self, name):
        """Kills a host's sshd and every session it runs: the machine vanishes. Parents
        go first: a vanished machine reports nothing, and a session's sshd that outlived
        its shell by a moment would report the shell's exit status."""
        with open(os.path.join(self.host_dir(name), "sshd.pid")) as f:
            pid = int(f.read())
        for p in [pid] + list(reversed(descendants(pid))):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        subprocess.run([FLEET_SH, "stop", self.dir], capture_output=True)


def http_text(url, timeout=5):
    """The body of a GET, stripped; None when the service does not answer (down, restarting).
    A stopped service refuses at once; the timeout only spares a slow one on a busy machine
    (suites run two at a time, one of them may be compiling)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode().strip()
    except Exception:
        return None


def descendants(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    kids = [int(p) for p in out.split()]
    return [d for k in kids for d in descendants(k)] + kids
