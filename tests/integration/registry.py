"""A real OCI registry for integration tests: Debian's docker-registry
(distribution 2.8) on a loopback address, with TLS from a private CA made
here and htpasswd (bcrypt) basic auth, its access log kept for counting."""
import atexit
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import ssl

REGISTRY = shutil.which("docker-registry")


class Registry:
    def __init__(self, address, port=15443, username="ci", password="s3cret-registry-pw"):
        self.dir = tempfile.mkdtemp(prefix="flotilla-registry-")
        self.address, self.port = address, port
        self.username, self.password = username, password
        self.url = f"https://{address}:{port}"
        self.ca = os.path.join(self.dir, "ca.crt")
        d = self.dir

        def sh(*args):
            subprocess.run(args, check=True, capture_output=True, cwd=d)

        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=flotilla test CA")
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
           "-keyout", "server.key", "-out", "server.csr", "-subj", f"/CN={address}")
        with open(os.path.join(d, "ext"), "w") as f:
            f.write(f"subjectAltName=IP:{address}\n")
        sh("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
           "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext")
        htpasswd = subprocess.run(["htpasswd", "-Bbn", username, password], check=True,
                                  capture_output=True, text=True).stdout
        with open(os.path.join(d, "htpasswd"), "w") as f:
            f.write(htpasswd)
        with open(os.path.join(d, "config.yml"), "w") as f:
            f.write(f"""version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {d}/data
  delete:
    enabled: true
http:
  addr: {address}:{port}
  tls:
    certificate: {d}/server.crt
    key: {d}/server.key
auth:
  htpasswd:
    realm: flotilla-test
    path: {d}/htpasswd
""")
        self.log_path = os.path.join(d, "registry.log")
        self.proc = None
        atexit.register(self.stop)
        self.start()

    def start(self):
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen([REGISTRY, "serve", os.path.join(self.dir, "config.yml")],
                                         stdout=log, stderr=log, start_new_session=True)
        context = ssl.create_default_context(cafile=self.ca)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", context=context, timeout=1)
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    return  # up, and asking for credentials
            except Exception:
                time.sleep(0.1)
        raise AssertionError("docker-registry did not start: " + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def requests(self, method, pattern=""):
        """The access log's request lines: METHOD URI with URI matching PATTERN."""
        lines = re.findall(r'"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d+)', self.log())
        return [(uri, int(status)) for m, uri, status in lines if m == method and re.search(pattern, uri)]

    def blob_file(self, sha):
        return os.path.join(self.dir, "data", "docker", "registry", "v2", "blobs", "sha256", sha[:2], sha, "data")
