#!/usr/bin/env python3
"""Slow start on the real service, beside the build's own picker test.

    Benchmarks/slow-start.py [DISPATCH_BINARY [SIM_BINARY]]

A sim of 4 servers × 16 workers: server 0 empty, servers 1–3 with 12 long calls each (4 free).
For --slow-start-ms 20000 and 0 in turn: server 0 is put in maintenance and resumed, then 20
picks are made at once and held (not placed, not released). Prints how many went to server 0:
with the ramp, a tenth of its 16 free (2); without it, 12 or more. Loopback only; everything it
starts is stopped by PID.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from loopback import call, start



def run(dispatch, sim_binary, window, work):
    children = []
    try:
        sim, text, _ = start([sim_binary, "--servers", "4", "--workers", "16", "--call-ms", "fixed:600000", "--base-port", "0",
                              "--busy", "1=12", "--busy", "2=12", "--busy", "3=12"], r"voxcore-sim ready", os.path.join(work, f"sim-{window}.log"))
        children.append(sim)
        servers = re.findall(r"server \d+ (http://\S+)", text)
        # The list is there before serve starts: servers of the first list are the fleet as found,
        # with no slow start (one added while it runs would ramp up too).
        database = os.path.join(work, f"s-{window}.sqlite")
        for server in servers:
            subprocess.run([dispatch, "fleet", "add", server, "--db", database], check=True, stdout=subprocess.DEVNULL)
        serve, _, found = start([dispatch, "serve", "--port", "0", "--db", database,
                                 "--slow-start-ms", str(window)], r"listening on (http://127\.0\.0\.1:\d+)", os.path.join(work, f"serve-{window}.log"))
        children.append(serve)
        base = found.group(1)
        for _ in range(100):
            if all(s["state"] == "up" for s in call(base + "/v1/fleet")[1]["servers"]):
                break
            time.sleep(0.05)
        assert call(base + "/v1/fleet/admin", {"url": servers[0], "state": "maintenance"}, "PUT")[0] == 200
        time.sleep(1.5)
        assert call(base + "/v1/fleet/admin", {"url": servers[0], "state": "active"}, "PUT")[0] == 200
        resumed = time.monotonic()
        picks = []
        for _ in range(20):
            status, body = call(base + "/v1/pick", {})
            picks.append(body.get("server") if status == 200 else None)
        took = time.monotonic() - resumed
        return sum(1 for p in picks if p == servers[0]), sum(1 for p in picks if p), took
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    dispatch = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", ".build", "release", "voxbridge-dispatch")
    sim = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(dispatch), "voxcore-sim")
    work = tempfile.mkdtemp(prefix="voxbridge-slow-start-")
    for window in (20000, 0):
        to_resumed, placed, took = run(dispatch, sim, window, work)
        print(f"--slow-start-ms {window}: of 20 picks held within {took:.2f} s of the resume, "
              f"{to_resumed} went to the resumed server (16 free beside three with 4), {placed} found a server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
