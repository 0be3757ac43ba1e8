#!/usr/bin/env python3
"""`flotilla build` on an unchanged commit must answer at once (cache hit).

Makes a git repository whose build writes a 20 MB output of 200 files, builds
it once (cold), then times ROUNDS more builds of the same commit (cached) and
a `--rebuild`, and prints the medians.

    python3 bench/build_bench.py [--rounds 20]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("FLOTILLA_BIN", os.path.join(ROOT, "build", "cli", "flotilla"))


def timed(cmd, cwd):
    start = time.monotonic()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flotilla-build-bench-") as tmp:
        repo = os.path.join(tmp, "game")
        os.makedirs(repo)
        with open(os.path.join(repo, "Makefile"), "w") as f:
            f.write("all:\n\tmkdir -p dist && for i in $$(seq 1 200); do "
                    "head -c 100000 /dev/urandom > dist/asset$$i.bin; done\n")
        env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                   GIT_COMMITTER_EMAIL="b@b")
        for cmd in (["git", "init", "-q", "-b", "master"], ["git", "add", "-A"], ["git", "commit", "-qm", "v1"]):
            subprocess.run(cmd, cwd=repo, check=True, env=env)
        with open(os.path.join(tmp, "flotilla.yaml"), "w") as f:
            f.write("environments:\n  dev: {inventory: inv.yaml}\nunits:\n  game:\n"
                    "    source: {repo: game, build: make, output: dist}\n    run: ./server\n")
        with open(os.path.join(tmp, "inv.yaml"), "w") as f:
            f.write("all: {hosts: {a: }}\n")
        build = [BIN, "build", "game", "--ref", "master"]
        cold = timed(build, tmp)
        cached = [timed(build, tmp) for _ in range(args.rounds)]
        rebuild = [timed(build + ["--rebuild"], tmp) for _ in range(3)]
        print(f"20 MB build output, 200 files")
        print(f"first build (checkout, make, package):  {cold:.3f} s")
        print(f"unchanged commit, cached, median of {args.rounds}: {statistics.median(cached) * 1000:.1f} ms "
              f"(max {max(cached) * 1000:.1f} ms)")
        print(f"--rebuild, median of 3:                  {statistics.median(rebuild):.3f} s")


if __name__ == "__main__":
    main()
