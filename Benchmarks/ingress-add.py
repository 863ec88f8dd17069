#!/usr/bin/env python3
"""Adding fleet servers on both paths: the runbook's way beside `ingress sync`, in one run.

    Benchmarks/ingress-add.py [--bin-dir .build/debug] [--adds 5]

Two HAProxy 2.6 instances on loopback, each with an admin socket and a WebSocket frontend, and one
voxcore-sim fleet. The runbook's way (what add-fleet.sh does): `fleet add` for outbound, then a
copy of the last `server` line with the new host, `haproxy -c`, a reload, and a wait for UP (rolled
back when it does not come UP). The sync's way: `fleet add` only; `ingress sync` follows the list.
Before each add, 20 WebSockets are opened through each frontend and kept to the end; after each
add, every one must still echo. Then one add of a server that does not answer, with a new
WebSocket every 100 ms for 3 s through each frontend. Prints, per way: time from the start of the
add to the server in service outbound (serve's GET /v1/fleet says up) and inbound (HAProxy says
UP), WebSockets cut, HAProxy processes at the end, and calls sent to the dead server.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import call, start  # noqa: E402

CHECK = "check inter 1s fastinter 250 downinter 500 rise 2 fall 3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin(sock, command):
    c = socket.socket(socket.AF_UNIX)
    c.connect(sock)
    c.sendall(command.encode() + b"\n")
    data = b""
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    return data.decode()


def status_of(sock, backend, name):
    for line in admin(sock, f"show stat {backend} 4 -1").splitlines()[1:]:
        fields = line.split(",")
        if len(fields) > 17 and fields[1] == name:
            return fields[17]
    return None


class WebSocket:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(b"GET /attach HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or len(data.split(b"\r\n\r\n", 1)[1]) < 2:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("closed during the upgrade")
            data += chunk

    def echoes(self):
        try:
            payload = b"ping"
            mask = b"\x01\x02\x03\x04"
            self.s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
            for _ in range(5):
                frame = self.s.recv(4096)
                if not frame:
                    return False
                if frame[0] & 0x0F == 0x9:  # a ping: answer, read on
                    self.s.sendall(bytes([0x8A, 0x80]) + mask)
                    continue
                return frame[0] & 0x0F == 0x1 and frame.endswith(payload)
            return False
        except OSError:
            return False

    def close(self):
        self.s.close()


class HAProxy:
    def __init__(self, folder, name, servers_lines):
        self.folder, self.name = folder, name
        self.socket = os.path.join(folder, f"{name}.sock")
        self.port = free_port()
        self.main = os.path.join(folder, f"{name}.cfg")
        self.servers = os.path.join(folder, f"{name}-servers.cfg")
        with open(self.main, "w") as f:
            f.write(f"global\n    stats socket {self.socket} mode 600 level admin\n"
                    "defaults\n    mode http\n    timeout connect 2s\n    timeout client 1h\n    timeout server 1h\n    timeout tunnel 1h\n"
                    f"frontend wss\n    bind 127.0.0.1:{self.port}\n    default_backend voxcore\n")
        with open(self.servers, "w") as f:
            f.write("backend voxcore\n    balance leastconn\n    option httpchk GET /health/fleet\n" + servers_lines)
        self.log = open(os.path.join(folder, f"{name}.log"), "w")
        self.process = subprocess.Popen(["/usr/sbin/haproxy", "-W", "-db", "-f", self.main, "-f", self.servers],
                                        stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self):
        os.kill(self.process.pid, signal.SIGTERM)
        self.process.wait(10)


def runbook_add(haproxy, host_port):
    """add-fleet.sh: clone the last server line, haproxy -c, reload, wait for UP; roll back if not."""
    before = open(haproxy.servers).read()
    last = [line for line in before.splitlines() if line.strip().startswith("server ")][-1]
    index = len([line for line in before.splitlines() if line.strip().startswith("server ")]) + 1
    new_name = f"fleet{index}"
    line = re.sub(r"server \S+ \S+", f"server {new_name} {host_port}", last)
    candidate = haproxy.servers + ".new"
    with open(candidate, "w") as f:
        f.write(before + line + "\n")
    if subprocess.run(["/usr/sbin/haproxy", "-c", "-q", "-f", haproxy.main, "-f", candidate]).returncode != 0:
        os.unlink(candidate)
        return new_name, False
    os.replace(candidate, haproxy.servers)
    os.kill(haproxy.process.pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if status_of(haproxy.socket, "voxcore", new_name) == "UP":
                return new_name, True
        except OSError:
            pass
        time.sleep(0.02)
    with open(haproxy.servers, "w") as f:  # rollback
        f.write(before)
    os.kill(haproxy.process.pid, signal.SIGUSR2)
    return new_name, False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", default=".build/debug")
    parser.add_argument("--adds", type=int, default=5)
    args = parser.parse_args()
    binary, sim_binary = os.path.join(args.bin_dir, "voxbridge-dispatch"), os.path.join(args.bin_dir, "voxcore-sim")
    folder = tempfile.mkdtemp(prefix="voxbridge-ingress-bench-")
    count = 4 + 2 * args.adds
    sim, text, _ = start([sim_binary, "--servers", str(count), "--base-port", "0", "--workers", "64"], r"voxcore-sim ready",
                         os.path.join(folder, "sim.log"))
    urls = re.findall(r"server \d+ (http://\S+)", text)
    db_runbook, db_sync = os.path.join(folder, "runbook.sqlite"), os.path.join(folder, "sync.sqlite")
    initial = urls[:2]
    for db in (db_runbook, db_sync):
        for url in initial:
            subprocess.run([binary, "fleet", "add", url, "--db", db], check=True, capture_output=True)
    serves = {}
    for way, db in (("runbook", db_runbook), ("sync", db_sync)):
        process, _, found = start([binary, "serve", "--port", "0", "--db", db], r"listening on (http://127\.0\.0\.1:\d+)",
                                  os.path.join(folder, f"serve-{way}.log"))
        serves[way] = (process, found.group(1))
    runbook = HAProxy(folder, "runbook", "".join(f"    server fleet{i + 1} {u[len('http://'):]} {CHECK}\n" for i, u in enumerate(initial)))
    synced = HAProxy(folder, "synced", "")
    sync, _, _ = start([binary, "ingress", "sync", "--haproxy-socket", synced.socket, "--backend", "voxcore", "--db", db_sync,
                        "--servers-file", synced.servers, "--haproxy-config", synced.main,
                        "--status-file", os.path.join(folder, "status.json")], r"ingress sync: backend", os.path.join(folder, "sync.log"))
    results = {"runbook": [], "sync": []}
    cut = {"runbook": 0, "sync": 0}
    opened = {"runbook": 0, "sync": 0}
    held = {"runbook": [], "sync": []}
    workers = {"runbook": 0, "sync": 0}
    dead_failures = {"runbook": 0, "sync": 0}
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(status_of(synced.socket, "voxcore", f"vb-127.0.0.1-{u.rsplit(':', 1)[1]}") == "UP" for u in initial):
            time.sleep(0.05)
        pending = urls[2:]
        for round_index in range(args.adds):
            for way, haproxy in (("runbook", runbook), ("sync", synced)):
                url = pending.pop(0)
                sockets = [WebSocket(haproxy.port) for _ in range(20)]
                opened[way] += len(sockets)
                base = serves[way][1]
                start_time = time.monotonic()
                subprocess.run([binary, "fleet", "add", url, "--db", db_runbook if way == "runbook" else db_sync], check=True, capture_output=True)
                if way == "runbook":
                    name, ok = runbook_add(runbook, url[len("http://"):])
                else:
                    name, ok = f"vb-127.0.0.1-{url.rsplit(':', 1)[1]}", True
                outbound = inbound = None
                deadline = time.monotonic() + 15
                while time.monotonic() < deadline and (outbound is None or inbound is None):
                    now = time.monotonic() - start_time
                    if outbound is None:
                        _, fleet = call(base + "/v1/fleet")
                        if any(s["url"] == url and s["state"] == "up" for s in fleet.get("servers", [])):
                            outbound = now
                    if inbound is None and status_of(haproxy.socket, "voxcore", name) == "UP":
                        inbound = now
                    time.sleep(0.01)
                time.sleep(0.5)
                held[way] += sockets
                lost = sum(0 if s.echoes() else 1 for s in held[way])
                cut[way] += lost
                results[way].append((outbound, inbound, ok))
                print(f"{way:8} add {round_index + 1}: outbound {outbound:.3f} s, inbound {inbound:.3f} s, "
                      f"WebSockets cut {lost} of {len(held[way])} held", flush=True)
        for way, haproxy in (("runbook", runbook), ("sync", synced)):
            workers[way] = int(subprocess.run(["pgrep", "-c", "-P", str(haproxy.process.pid)], capture_output=True, text=True).stdout.strip() or 0)
        # A server that does not answer.
        for way, haproxy in (("runbook", runbook), ("sync", synced)):
            dead = f"127.0.0.1:{free_port()}"
            subprocess.run([binary, "fleet", "add", "http://" + dead, "--db", db_runbook if way == "runbook" else db_sync], check=True, capture_output=True)
            adder = threading.Thread(target=runbook_add, args=(runbook, dead)) if way == "runbook" else None
            if adder:
                adder.start()
            failed = 0
            # Kept open, so that leastconn spreads them as it would spread calls.
            for _ in range(30):
                try:
                    held[way].append(WebSocket(haproxy.port))
                except (OSError, RuntimeError):
                    failed += 1
                time.sleep(0.1)
            if adder:
                adder.join()
            dead_failures[way] = failed
            print(f"{way:8} dead server added: {failed} of 30 new WebSockets failed", flush=True)
    finally:
        for sockets in held.values():
            for s in sockets:
                s.close()
        for process in (sync,):
            process.terminate()
            process.wait(10)
        for process, _ in serves.values():
            process.terminate()
            process.wait(10)
        runbook.stop()
        synced.stop()
        sim.terminate()
        sim.wait(10)
    print()
    print("| way | adds | outbound: add to up, median (max) | inbound: add to UP, median (max) | WebSockets cut | HAProxy workers at the end | new WebSockets failed, dead server added |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for way, label in (("runbook", "runbook: fleet add + clone line, haproxy -c, reload"), ("sync", "fleet add; ingress sync")):
        rows = results[way]
        out = [r[0] for r in rows]
        inn = [r[1] for r in rows]
        print(f"| {label} | {len(rows)} | {statistics.median(out):.3f} s ({max(out):.3f} s) | {statistics.median(inn):.3f} s ({max(inn):.3f} s) | {cut[way]} of {opened[way]} | {workers[way]} | {dead_failures[way]} of 30 |")


if __name__ == "__main__":
    main()
