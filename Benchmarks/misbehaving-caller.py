#!/usr/bin/env python3
"""One caller whose own network is broken against one that is not, on loopback.

    Benchmarks/misbehaving-caller.py [DISPATCH_BINARY [SIM_BINARY]] [--seconds 3] [--threads 32]

A sim fleet of 8 healthy servers (16 workers each) and `serve` with its defaults. For SECONDS,
THREADS threads of one caller pick and at once release `failed` (as a caller whose dialouts all
fail at its own end would), as fast as they can; meanwhile a well-behaved caller picks every
20 ms and releases `not_placed`. Every 10 ms it reads GET /v1/fleet and counts the servers held
back or down. Prints the well-behaved caller's answers and the most servers held at once.
Python's threads are slower than a compiled caller's: 32 of them hold the whole fleet back on a
build without the cap, as 4 threads of a faster caller did. Everything it starts is stopped by
PID; loopback only.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from loopback import call, start



def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("dispatch", nargs="?", default=os.path.join(here, "..", ".build", "release", "voxbridge-dispatch"))
    parser.add_argument("sim", nargs="?", default=None)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    sim_binary = args.sim or os.path.join(os.path.dirname(args.dispatch), "voxcore-sim")
    work = tempfile.mkdtemp(prefix="voxbridge-misbehaving-")
    children = []
    try:
        sim, text, _ = start([sim_binary, "--servers", "8", "--workers", "16", "--base-port", "0"],
                             r"voxcore-sim ready", os.path.join(work, "sim.log"))
        children.append(sim)
        servers = re.findall(r"server \d+ (http://\S+)", text)
        serve, _, found = start([args.dispatch, "serve", "--port", "0", "--db", os.path.join(work, "s.sqlite")],
                                r"listening on (http://127\.0\.0\.1:\d+)", os.path.join(work, "serve.log"))
        children.append(serve)
        base = found.group(1)
        status, _ = call(base + "/v1/settings/voxcore_fleet", {"voxcore_fleet": servers}, "PUT")
        assert status == 200, status
        for _ in range(200):  # at most 10 s for the fleet to come up
            if sum(s["state"] == "up" for s in call(base + "/v1/fleet")[1]["servers"]) == 8:
                break
            time.sleep(0.05)

        stop = threading.Event()
        good = {"picks": 0, "answered": 0, "refused": 0}
        most_held = [0]

        def misbehave():
            while not stop.is_set():
                status, body = call(base + "/v1/pick", {})
                if status == 200:
                    call(base + "/v1/release", {"reservation_id": body["reservation_id"], "reason": "failed"})

        def behave():
            while not stop.is_set():
                good["picks"] += 1
                status, body = call(base + "/v1/pick", {})
                if status == 200 and body.get("server"):
                    good["answered"] += 1
                    call(base + "/v1/release", {"reservation_id": body["reservation_id"], "reason": "not_placed"})
                else:
                    good["refused"] += 1
                time.sleep(0.02)

        def watch():
            while not stop.is_set():
                servers_now = call(base + "/v1/fleet")[1]["servers"]
                held = sum(1 for s in servers_now if s.get("held_by_report") == "failed" or s["state"] == "down")
                most_held[0] = max(most_held[0], held)
                time.sleep(0.01)

        threads = [threading.Thread(target=misbehave) for _ in range(args.threads)]
        threads += [threading.Thread(target=behave), threading.Thread(target=watch)]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds)
        stop.set()
        for thread in threads:
            thread.join(10)
        print(f"well-behaved caller: {good['answered']} of {good['picks']} picks answered with a server "
              f"({good['refused']} refused); most servers held back or down at once: {most_held[0]} of 8")
        return 0
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    sys.exit(main())
