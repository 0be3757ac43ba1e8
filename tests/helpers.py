"""Shared helpers for the Python tests: run the real flotilla binary."""
import json
import os
import subprocess
import tempfile

BIN = os.environ.get("FLOTILLA_BIN", os.path.join(os.path.dirname(__file__), "..", "build", "cli", "flotilla"))
SOURCE = os.environ.get("FLOTILLA_SOURCE", os.path.join(os.path.dirname(__file__), ".."))


def run(*args, cwd=None, timeout=120, stdin=subprocess.DEVNULL, env=None):
    """Runs flotilla; returns CompletedProcess with text stdout/stderr. ENV adds variables."""
    return subprocess.run([BIN, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, stdin=stdin, env=dict(os.environ, **(env or {})))


def run_json(*args, **kwargs):
    proc = run("--json", *args, **kwargs)
    return proc, (json.loads(proc.stdout) if proc.stdout.strip() else None)


class TempDir:
    """A temporary directory that writes files from strings."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="flotilla-test-")
        self.path = self._dir.name

    def write(self, name, text, mode="w"):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)
        return path

    def cleanup(self):
        self._dir.cleanup()


def git(repo, *args):
    """Runs git in `repo` as a fixed author (the tests' repositories; flotilla itself uses libgit2)."""
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t")
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True,
                          env=env).stdout.strip()


def keygen(path, comment):
    """A new ed25519 key pair at PATH (no passphrase); returns the public key line."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path], check=True)
    with open(path + ".pub") as f:
        return f.read().strip()


# A service that answers every GET with its release's VERSION file (run as
# `python3 FILE ADDRESS`, on port 8080): what a host serves, asked over HTTP.
VERSION_SERVICE = r'''
import http.server, sys
version = open("VERSION").read().strip()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(version.encode())
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer((sys.argv[1], 8080), H).serve_forever()
'''
