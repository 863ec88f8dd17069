"""Tests of voxbridge_dispatch.py against a real `voxbridge-dispatch serve` (port 0, temporary
SQLite database, both tokens set) in front of a `voxcore-sim` fleet, all on 127.0.0.1.

The binaries come from VOXBRIDGE_BIN_DIR (default: the package's .build/debug, which `swift
test` builds). Run: python3 -m unittest discover -s clients/python -v
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import unittest
import urllib.request
from typing import Dict, List, Optional

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE / "examples"))

import voxbridge_dispatch as vd  # noqa: E402

BIN = pathlib.Path(os.environ.get("VOXBRIDGE_BIN_DIR", str(ROOT / ".build" / "debug")))
ADMIN_TOKEN = "admin-secret"
PICK_TOKEN = "pick-secret"


class Child:
    """A child process whose output goes to a file, ready at a marker line, stopped by its PID."""

    def __init__(self, arguments: List[str], marker: str, log: pathlib.Path, env: Optional[Dict[str, str]] = None) -> None:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("VOXBRIDGE_")}
        environment.update(env or {})
        self.log = log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(arguments, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=environment)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.process.poll() is None:
            if marker in self.output():
                return
            time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"{arguments[0]} did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


class Live:
    """voxcore-sim with `servers` servers (none when 0) and the dispatcher with that fleet."""

    def __init__(self, servers: int = 3) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="voxbridge-py-")
        folder = pathlib.Path(self.folder.name)
        self.sim: Optional[Child] = None
        self.servers: List[str] = []
        try:
            if servers:
                self.sim = Child([str(BIN / "voxcore-sim"), "--servers", str(servers), "--workers", "16"],
                                 "voxcore-sim ready", folder / "sim.log")
                self.servers = [line.split()[-1] for line in self.sim.output().splitlines() if line.startswith("server ")]
            self.dispatcher = Child(
                [str(BIN / "voxbridge-dispatch"), "serve", "--host", "127.0.0.1", "--port", "0",
                 "--db", str(folder / "dispatch.sqlite")],
                "listening on http://", folder / "serve.log",
                {"VOXBRIDGE_ADMIN_TOKEN": ADMIN_TOKEN, "VOXBRIDGE_PICK_TOKEN": PICK_TOKEN})
            line = next(l for l in self.dispatcher.output().splitlines() if "listening on http://" in l)
            self.url = line[line.index("http://"):].split()[0]
            if self.servers:
                self.request("PUT", "/v1/settings/voxcore_fleet", {"voxcore_fleet": self.servers}, ADMIN_TOKEN)
        except BaseException:
            self.stop()
            raise

    def request(self, method: str, path: str, body: Optional[dict] = None, token: str = PICK_TOKEN) -> bytes:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def releases(self, reason: str) -> int:
        prefix = f'voxbridge_releases_total{{reason="{reason}"}} '
        for line in self.request("GET", "/metrics").decode().splitlines():
            if line.startswith(prefix):
                return int(float(line[len(prefix):]))
        return 0

    def fleet(self) -> List[dict]:
        return json.loads(self.request("GET", "/v1/fleet"))["servers"]

    def wait_until_free(self) -> None:
        """Until no busy/failed release holds a server back (the dispatcher re-probes at once)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(s["held_by_report"] is None and s["state"] == "up" for s in self.fleet()):
                return
            time.sleep(0.05)

    def client(self, **options) -> vd.DispatchClient:
        options.setdefault("token", PICK_TOKEN)
        return vd.DispatchClient([self.url], **options)

    def stop(self) -> None:
        if getattr(self, "dispatcher", None):
            self.dispatcher.stop()
        if self.sim:
            self.sim.stop()
        self.folder.cleanup()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a port bound and closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


class DialoutProtocolTests(unittest.TestCase):
    """One dispatcher and fleet of 3 for the class; each test counts the releases it causes."""

    live: Live

    @classmethod
    def setUpClass(cls) -> None:
        cls.live = Live(servers=3)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.live.stop()

    def setUp(self) -> None:
        self.live.wait_until_free()
        self.client = self.live.client()

    def test_pick_and_release(self) -> None:
        pick = vd.pick_fleet_server(client=self.client)
        self.assertIsInstance(pick, str)
        self.assertIn(pick, self.live.servers)
        self.assertEqual(pick.workers, 16)
        self.assertEqual(pick.instance, self.live.url)
        pick.release()
        with self.assertRaises(vd.UnknownReservation) as caught:
            pick.release()
        self.assertEqual((caught.exception.status, caught.exception.code), (404, "unknown_reservation"))

    def test_busy_retry_excludes_the_busy_server(self) -> None:
        before = self.live.releases("busy")
        tried = []
        with self.client.dial() as dialout:
            for server in dialout:
                tried.append(server.server)
                if len(tried) == 1:
                    dialout.busy()
                else:
                    dialout.placed()
        self.assertEqual(len(tried), 2)
        self.assertNotEqual(tried[0], tried[1])
        self.assertEqual(dialout.server, tried[1])
        self.assertEqual(self.live.releases("busy") - before, 1)

    def test_retry_limit(self) -> None:
        before = self.live.releases("busy")
        tried = []
        with self.assertRaises(vd.RetriesExhausted) as caught:
            with self.client.dial() as dialout:
                for server in dialout:
                    tried.append(server.server)
                    dialout.busy()
        self.assertEqual(len(tried), 3)
        self.assertEqual(set(tried), set(self.live.servers))
        self.assertEqual([outcome for _, outcome in caught.exception.attempts], ["busy"] * 3)
        self.assertEqual(self.live.releases("busy") - before, 3)

    def test_failed_release(self) -> None:
        before = self.live.releases("failed")
        with self.client.dial() as dialout:
            for server in dialout:
                if not dialout.attempts:
                    failed = server.server
                    dialout.failed()
                else:
                    dialout.placed()
        self.assertNotEqual(dialout.server, failed)
        self.assertEqual(self.live.releases("failed") - before, 1)
        entry = next(s for s in self.live.fleet() if s["url"] == failed)
        self.assertGreaterEqual(entry["reports_last_minute"]["failed"], 1)

    def test_an_exception_releases_not_placed(self) -> None:
        before = self.live.releases("not_placed")
        with self.assertRaises(KeyError):
            with self.client.dial() as dialout:
                for _ in dialout:
                    raise KeyError("the caller's own error")
        self.assertEqual(self.live.releases("not_placed") - before, 1)

    def test_no_capacity_with_the_reasons(self) -> None:
        with self.assertRaises(vd.NoCapacity) as caught:
            vd.pick_fleet_server(self.live.servers, client=self.client)
        error = caught.exception
        self.assertEqual((error.status, error.code), (503, "no_capacity"))
        self.assertEqual({s.url for s in error.servers}, set(self.live.servers))
        self.assertTrue(all(s.reason == "excluded" and s.admin_state == "active" for s in error.servers))
        self.assertIn("excluded", str(error))
        # Drained by an operator: its admin_state says so, apart from a drain the server reports.
        drained = self.live.servers[0]
        self.live.request("PUT", "/v1/fleet/admin", {"url": drained, "state": "draining"}, ADMIN_TOKEN)
        try:
            with self.assertRaises(vd.NoCapacity) as caught:
                vd.pick_fleet_server(self.live.servers[1:], client=self.client)
            entry = next(s for s in caught.exception.servers if s.url == drained)
            self.assertEqual(entry.admin_state, "draining")
            self.assertTrue(entry.reason.startswith("draining (operator)"))
        finally:
            self.live.request("PUT", "/v1/fleet/admin", {"url": drained, "state": "active"}, ADMIN_TOKEN)

    def test_token_refused(self) -> None:
        for token in ("wrong-token", None):
            client = vd.DispatchClient([self.live.url], token=token)
            with self.assertRaises(vd.Unauthorized) as caught:
                client.pick()
            self.assertEqual((caught.exception.status, caught.exception.code), (401, "unauthorized"))

    def test_an_instance_down_the_next_one_answers(self) -> None:
        dead = closed_port_url()
        client = vd.DispatchClient([dead, self.live.url], token=PICK_TOKEN)
        pick = client.pick()
        self.assertEqual(pick.instance, self.live.url)
        pick.release()
        with self.assertRaises(vd.Unavailable) as caught:
            vd.DispatchClient([dead], token=PICK_TOKEN).pick()
        self.assertEqual([f.instance for f in caught.exception.failures], [dead])

    def test_an_instance_answering_502_the_next_one_answers(self) -> None:
        class BadGateway(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(502)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        proxy = ThreadingHTTPServer(("127.0.0.1", 0), BadGateway)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            broken = f"http://127.0.0.1:{proxy.server_address[1]}"
            pick = vd.DispatchClient([broken, self.live.url], token=PICK_TOKEN).pick()
            self.assertEqual(pick.instance, self.live.url)
            pick.release()
        finally:
            proxy.shutdown()
            proxy.server_close()
            thread.join(timeout=5)

    def test_a_timeout(self) -> None:
        with socket.socket() as silent:  # listens, never accepts nor answers
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)
            hanging = f"http://127.0.0.1:{silent.getsockname()[1]}"
            started = time.monotonic()
            pick = vd.DispatchClient([hanging, self.live.url], token=PICK_TOKEN, timeout=0.3).pick()
            self.assertEqual(pick.instance, self.live.url)
            self.assertLess(time.monotonic() - started, 3)
            pick.release()
            started = time.monotonic()
            with self.assertRaises(vd.Unavailable) as caught:
                vd.DispatchClient([hanging], token=PICK_TOKEN, timeout=0.3).pick()
            self.assertTrue(caught.exception.failures[0].timed_out)
            self.assertLess(time.monotonic() - started, 3)

    def test_the_readme_examples_as_written(self) -> None:
        example = (HERE / "examples" / "place_call.py").read_text()
        readme = (ROOT / "README.md").read_text()
        self.assertIn("```python\n" + example + "```\n", readme, "README must show examples/place_call.py verbatim")
        import place_call
        server = place_call.place_outbound_call("+15550100", self.client)
        self.assertIn(server, self.live.servers)
        saved = {k: os.environ.get(k) for k in ("VOXBRIDGE_DISPATCH_URLS", "VOXBRIDGE_PICK_TOKEN")}
        os.environ.update({"VOXBRIDGE_DISPATCH_URLS": f"{closed_port_url()}, {self.live.url}",
                           "VOXBRIDGE_PICK_TOKEN": PICK_TOKEN})
        try:
            self.assertIn(place_call.old_style(), self.live.servers)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


class FleetEmptyTests(unittest.TestCase):
    def test_fleet_empty(self) -> None:
        live = Live(servers=0)
        try:
            with self.assertRaises(vd.FleetEmpty) as caught:
                vd.pick_fleet_server(client=live.client())
            self.assertIsInstance(caught.exception, vd.NoCapacity)
            self.assertEqual((caught.exception.status, caught.exception.code), (503, "fleet_empty"))
        finally:
            live.stop()


if __name__ == "__main__":
    unittest.main()
