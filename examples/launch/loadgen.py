#!/usr/bin/env python3
"""Keeps players buying through the payment service until SIGTERM/SIGINT,
then checks every host's ledger: each purchase settled exactly once.

    loadgen.py 127.0.1.4,127.0.1.5 [--port 8102] [--workers 12] [--via ADDRESS:PORT]

Each purchase belongs to one host (a player's session) and is retried there,
with the same id, until it is settled: through a rolling restart it waits,
never moves, never gives up. With --via, every purchase goes through that
L7 switch (HAProxy) instead, which picks the host; a retry may land on
another host, so a purchase cut mid-way shows up as doubled. Exit 0 when
nothing was lost or doubled."""
import argparse
import base64
import collections
import json
import os
import random
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid


def receipt(store, rng):
    if store == "apple":
        return base64.b64encode(os.urandom(24)).decode()
    if store == "google":
        return {"orderId": f"GPA.{rng.randrange(10**12)}", "purchaseToken": uuid.uuid4().hex}
    return rng.randrange(1, 10**9)


def post(url, body, timeout=10):
    req = urllib.request.Request(url, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hosts")
    ap.add_argument("--port", type=int, default=8102)
    ap.add_argument("--workers", type=int, default=12)
    ap.add_argument("--give-up", type=float, default=120, help="seconds to keep retrying one purchase")
    ap.add_argument("--via", help="ADDRESS:PORT of the balancer every purchase goes through")
    args = ap.parse_args()
    hosts = args.hosts.split(",")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    lock = threading.Lock()
    acked = {}  # id -> host
    stats = collections.Counter()

    def worker(n):
        rng = random.Random(n)
        host = args.via or f"{hosts[n % len(hosts)]}:{args.port}"
        while not stop.is_set():
            store = rng.choice(["apple", "google", "steam"])
            p = {"id": str(uuid.uuid4()), "player": f"player-{n}-{rng.randrange(1000)}",
                 "store": store, "product": "gems_500", "receipt": receipt(store, rng)}
            started, tries = time.time(), 0
            while True:
                tries += 1
                try:
                    answer = post(f"http://{host}/purchase", p)
                    with lock:
                        acked[p["id"]] = host
                        stats["sent"] += 1
                        stats["retried"] += tries > 1
                        stats["duplicate answers"] += bool(answer.get("duplicate"))
                    break
                except urllib.error.HTTPError as e:
                    if e.code < 500:
                        with lock:
                            stats["refused (bug)"] += 1
                        break
                except OSError:
                    pass  # restarting: connection refused or reset; same id, same host (or switch)
                if time.time() - started > args.give_up:
                    with lock:
                        stats["gave up"] += 1
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(args.workers)]
    for t in threads:
        t.start()
    began = time.time()
    while not stop.is_set():
        stop.wait(0.2)
    for t in threads:
        t.join()

    settled = collections.Counter()
    for host in hosts:
        with urllib.request.urlopen(f"http://{host}:{args.port}/ledger", timeout=10) as r:
            for pid in json.loads(r.read())["settled"]:
                settled[pid] += 1
    lost = [pid for pid in acked if settled[pid] == 0]
    doubled = [pid for pid, n in settled.items() if n > 1]
    print(f"payment load: {stats['sent']} purchases over {time.time() - began:.0f}s on "
          f"{len(hosts)} hosts{' through ' + args.via if args.via else ''}; "
          f"{stats['retried']} waited out a restart; "
          f"{stats['gave up']} gave up; {stats['refused (bug)']} refused")
    print(f"ledger check: {stats['sent'] - len(lost)} settled exactly once, "
          f"{len(lost)} lost, {len(doubled)} doubled")
    return 0 if not lost and not doubled and not stats["gave up"] and not stats["refused (bug)"] else 1


if __name__ == "__main__":
    sys.exit(main())
