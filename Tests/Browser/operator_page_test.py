#!/usr/bin/env python3
"""The operator's page in a real browser (Debian's Chromium driven by Playwright for Python),
against the real `voxbridge-dispatch serve` and `voxcore-sim`, both started here on loopback and
stopped by PID.

    operator_page_test.py --dispatch BINARY --sim BINARY [--screenshots DIR]

Prints one line per check and ends with "N passed, N failed"; exits 1 when any check failed.
"""
import argparse
import json
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

ADMIN = "browser-admin-token"
PICKER = "browser-pick-token"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok   {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f" ({detail})" if detail else ""), flush=True)
        return condition


def read_lines_until(process, pattern, timeout):
    """Lines of a child's stdout until one matches `pattern`; raises after `timeout` seconds.

    A thread reads the pipe (a buffered pipe and select() do not mix) and keeps draining it
    afterwards, so the child never blocks on a full pipe.
    """
    if not hasattr(process, "lines"):
        process.lines = queue.Queue()

        def pump():
            for line in process.stdout:
                process.lines.put(line.rstrip("\n"))
        threading.Thread(target=pump, daemon=True).start()
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = process.lines.get(timeout=0.1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        lines.append(line)
        if re.search(pattern, line):
            return lines
    raise RuntimeError(f"no line matching {pattern!r} in time: {lines}")


class Sim:
    """voxcore-sim with 3 servers: 5 and 9 workers busy on the first two, calls that last."""

    def __init__(self, binary):
        self.process = subprocess.Popen(
            [binary, "--servers", "3", "--busy", "0=5", "--busy", "1=9", "--call-ms", "600000"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines_until(self.process, r"voxcore-sim ready", 60)
        self.servers = [line.split()[2] for line in lines if line.startswith("server ")]
        self.control = next(line.split()[1] for line in lines if line.startswith("control "))

    def mode(self, index, mode):
        request(self.control + f"/control/servers/{index}", "POST", body={"mode": mode})

    def stop(self):
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


class Serve:
    """voxbridge-dispatch serve with both tokens set (or none), on a given port or a free one."""

    def __init__(self, binary, db, log, port=0, tokens=True):
        env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBRIDGE_")}
        if tokens:
            env.update(VOXBRIDGE_ADMIN_TOKEN=ADMIN, VOXBRIDGE_PICK_TOKEN=PICKER)
        self.log = open(log, "a")
        self.process = subprocess.Popen(
            [binary, "serve", "--host", "127.0.0.1", "--port", str(port), "--db", db, "--probe-timeout-ms", "300"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        lines = read_lines_until(self.process, r"listening on http://127\.0\.0\.1:\d+", 60)
        self.port = int(re.search(r"listening on http://127\.0\.0\.1:(\d+)", lines[-1]).group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        """SIGTERM; returns the seconds until exit and the exit status."""
        start = time.monotonic()
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            status = self.process.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            status = self.process.wait()
        return time.monotonic() - start, status


def request(url, method="GET", token=None, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            text = response.read().decode()
            return response.status, json.loads(text) if text.startswith(("{", "[")) else text
    except urllib.error.HTTPError as error:
        text = error.read().decode()
        return error.code, json.loads(text) if text.startswith("{") else text


PAGE_FIGURES = """() => [...document.querySelectorAll('#servers li.server')].map((li) => {
  const field = (name) => li.querySelector(`[data-field="${name}"]`)?.textContent ?? null;
  return { url: li.dataset.url, state: field('state'), workers: field('workers'), active_calls: field('active_calls'),
           available: field('available'), free: field('free'), reserved: field('reserved'), consecutive_failures: field('consecutive_failures'),
           reports_last_minute: field('reports_last_minute'), held_by_report: field('held_by_report') };
})"""

LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const outside = [];
  for (const node of document.querySelectorAll('body *')) {
    if (node.closest('[hidden]') || node.classList.contains('skip')) continue;
    const box = node.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    if (box.left < -0.5 || box.right > width + 0.5) outside.push(`${node.tagName.toLowerCase()}#${node.id}.${node.className} ${Math.round(box.left)}..${Math.round(box.right)}`);
  }
  return { scrollWidth: document.documentElement.scrollWidth, clientWidth: width, outside: outside.slice(0, 10), count: outside.length };
}"""

CONTRAST = """() => {
  const parse = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const channel = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const background = (node) => {
    for (let at = node; at; at = at.parentElement) {
      const value = parse(getComputedStyle(at).backgroundColor);
      if (value.length === 3 || (value.length === 4 && value[3] > 0)) return value.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const worst = [];
  for (const node of document.querySelectorAll('h1, h2, dt, dd, .state, .legend, .note, .result, button, label, .connection, .server-url, .entry-url, .entry-error')) {
    if (node.closest('[hidden]') || !node.textContent.trim()) continue;
    const a = luminance(parse(getComputedStyle(node).color).slice(0, 3));
    const b = luminance(background(node));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    worst.push([ratio, node.tagName + '.' + node.className + ' ' + node.textContent.trim().slice(0, 30)]);
  }
  worst.sort((x, y) => x[0] - y[0]);
  return worst.slice(0, 3);
}"""


def wait_js(page, expression, timeout):
    """Polls `expression` in the page until it is truthy; raises after `timeout` ms. (Playwright's
    wait_for_function evaluates its predicate with eval, which the page's CSP forbids.)"""
    deadline = time.monotonic() + timeout / 1000
    while time.monotonic() < deadline:
        if page.evaluate(expression):
            return
        time.sleep(0.025)
    raise AssertionError(f"not true within {timeout} ms: {expression}")


def wait_until(predicate, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def open_page_logs_nothing(binary, work, server, checks):
    """With no tokens set: the page, its icon included, loads with nothing at all in the console."""
    serve = Serve(binary, os.path.join(work, "open.sqlite"), os.path.join(work, "open.log"), tokens=False)
    try:
        status, _ = request(serve.base + "/v1/settings/voxcore_fleet", "PUT", None, {"voxcore_fleet": [server]})
        checks.check("without tokens, the local fleet list is saved", status == 200)
        for path in ("/favicon.ico", "/ui/icon.svg"):
            icon = urllib.request.urlopen(serve.base + path, timeout=5)
            checks.check(f"{path} answers an SVG icon", icon.status == 200
                         and icon.headers["Content-Type"].startswith("image/svg+xml") and b"<svg" in icon.read())
        messages = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.on("console", lambda message: messages.append(f"{message.type}: {message.text}")
                    if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
            page.goto(serve.base + "/")
            page.wait_for_selector("#servers li.server", timeout=10000)
            wait_js(page, "document.getElementById('connection').dataset.connection === 'live'", 10000)
            page.wait_for_timeout(1500)
            icon = page.evaluate("document.querySelector('link[rel=icon]')?.href")
            browser.close()
        checks.check("without tokens, the page names its icon", icon == serve.base + "/ui/icon.svg", str(icon))
        checks.check("without tokens, loading the page logs no console error or warning (favicon included)",
                     not messages, "; ".join(messages[:5]))
    finally:
        serve.stop()


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(process):
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def ingress_on_the_page(args, work, sim, checks, shots):
    """With --store (PostgreSQL): serve, Debian's HAProxy and `ingress sync` recording its view in
    the store; the page shows each server's ingress state and flags one missing inbound."""
    store = args.store
    folder = os.path.join(work, "ingress")
    os.makedirs(folder, exist_ok=True)
    socket_path, main_cfg = os.path.join(folder, "admin.sock"), os.path.join(folder, "haproxy.cfg")
    servers_cfg = os.path.join(folder, "voxbridge-voxcore.cfg")
    with open(main_cfg, "w") as f:
        f.write(f"global\n    stats socket {socket_path} mode 600 level admin\ndefaults\n    mode http\n"
                f"    timeout connect 2s\n    timeout client 60s\n    timeout server 60s\n"
                f"frontend wss\n    bind 127.0.0.1:{free_port()}\n    default_backend voxcore\n")
    with open(servers_cfg, "w") as f:
        f.write("backend voxcore\n    balance leastconn\n    option httpchk GET /health/fleet\n")
    haproxy = subprocess.Popen(["/usr/sbin/haproxy", "-W", "-db", "-f", main_cfg, "-f", servers_cfg],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    read_lines_until(haproxy, r"Loading success", 20)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBRIDGE_")}
    serve = subprocess.Popen([args.dispatch, "serve", "--host", "127.0.0.1", "--port", "0", "--store", store],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = read_lines_until(serve, r"listening on http://127\.0\.0\.1:\d+", 60)
    base = "http://127.0.0.1:" + re.search(r"listening on http://127\.0\.0\.1:(\d+)", lines[-1]).group(1)
    sync = subprocess.Popen([args.dispatch, "ingress", "sync", "--haproxy-socket", socket_path, "--backend", "voxcore",
                             "--servers-file", servers_cfg, "--haproxy-config", main_cfg, "--store", store,
                             "--status-file", os.path.join(folder, "status.json"), "--ingress-name", "ingress-1/voxcore"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    read_lines_until(sync, r"ingress sync: backend", 20)
    refused = "http://no-such-host.invalid:9000"
    try:
        status, _ = request(base + "/v1/settings/voxcore_fleet", "PUT", None, {"voxcore_fleet": [sim.servers[0], refused]})
        checks.check("with --store, the fleet is written to PostgreSQL", status == 200)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(base + "/")
            good = f"li.server[data-url=\"{sim.servers[0]}\"] [data-field=ingress]"
            bad = f"li.server[data-url=\"{refused}\"] [data-field=ingress]"
            wait_js(page, f"document.querySelector('{good}')?.textContent === 'ingress-1/voxcore UP'", 15000)
            checks.check("the page shows the server UP on the ingress", page.text_content(good) == "ingress-1/voxcore UP",
                         page.text_content(good) or "")
            wait_js(page, f"document.querySelector('{bad}')?.classList.contains('why') === true", 15000)
            checks.check("the page flags the server listed for outbound but missing inbound",
                         page.text_content(bad).startswith("missing inbound: ingress-1/voxcore refused"), page.text_content(bad) or "")
            _, fleet = request(base + "/v1/fleet")
            flags = {s["url"]: s["missing_inbound"] for s in fleet["servers"]}
            checks.check("GET /v1/fleet says the same", flags == {sim.servers[0]: False, refused: True}, json.dumps(flags))
            page.screenshot(path=os.path.join(shots, "operator-page-ingress.png"), full_page=True)
            browser.close()
    finally:
        stop_process(sync)
        stop_process(serve)
        stop_process(haproxy)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dispatch", required=True)
    parser.add_argument("--sim", required=True)
    parser.add_argument("--screenshots", default=None)
    parser.add_argument("--store", default=None, help="PostgreSQL URL: also check the ingress views on the page")
    args = parser.parse_args()
    checks = Checks()
    work = tempfile.mkdtemp(prefix="voxbridge-browser-")
    shots = args.screenshots or work
    os.makedirs(shots, exist_ok=True)
    db, log = os.path.join(work, "settings.sqlite"), os.path.join(work, "serve.log")

    sim = Sim(args.sim)
    serve = Serve(args.dispatch, db, log)
    s0, s1, s2 = sim.servers
    settings = serve.base + "/v1/settings/voxcore_fleet"
    errors, network_errors = [], []
    try:
        status, _ = request(settings, "PUT", ADMIN, {"voxcore_fleet": [s0, s1]}, {"If-Match": '"0"'})
        checks.check("the fleet of 2 is registered through the API", status == 200)
        for _ in range(2):
            request(serve.base + "/v1/pick", "POST", PICKER)

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1440, "height": 1000})

            def on_console(message):
                if message.type != "error":
                    return
                # The browser's own network log, not the page's script: the statuses this test
                # provokes on purpose (401 token prompts, 412, 400) and refused connections
                # while the service restarts.
                if message.text.startswith("Failed to load resource"):
                    network_errors.append(message.text)
                else:
                    errors.append(message.text)

            page.on("console", on_console)
            page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
            page.goto(serve.base + "/")

            # Read view: the pick token is asked for on the page. Until it is entered the only
            # console errors are the browser's own lines for the documented 401 answers.
            page.wait_for_selector("#access:not([hidden])", timeout=5000)
            before_token = list(network_errors)
            checks.check("with a pick token, loading the page logs only the 401 before the token is entered",
                         before_token and all("status of 401" in line for line in before_token) and not errors,
                         "; ".join(before_token[:5] + errors[:5]))
            checks.check("the page asks for a token to read", "pick token" in page.text_content("#access-reason"))
            page.fill("#access-token", PICKER)
            page.press("#access-token", "Enter")
            page.wait_for_selector("#servers li.server", timeout=5000)
            wait_js(page, "document.getElementById('connection').dataset.connection === 'live'", 5000)
            checks.check("the token is kept in sessionStorage only",
                         page.evaluate("sessionStorage.getItem('voxbridge.readToken')") == PICKER
                         and page.evaluate("document.cookie") == "" and PICKER not in page.url)

            # The page shows what /v1/fleet reports.
            def same_as_api():
                _, fleet = request(serve.base + "/v1/fleet", token=PICKER)
                shown = page.evaluate(PAGE_FIGURES)
                expected = [{
                    "url": s["url"], "state": s["state"], "workers": str(s["workers"]), "active_calls": str(s["active_calls"]),
                    "available": str(s["available"]), "reserved": str(s["reserved"]),
                    "free": str(max(0, s["available"] - s["reserved"])) if s["available"] is not None else "–",
                    "consecutive_failures": str(s["consecutive_failures"]),
                    "reports_last_minute": f"{s['reports_last_minute']['busy']} busy · {s['reports_last_minute']['failed']} failed",
                    "held_by_report": s["held_by_report"] or "none"} for s in fleet["servers"]]
                return (shown == expected, shown, expected)
            matched = wait_until(lambda: same_as_api()[0], 5, 0.2)
            _, shown, expected = same_as_api()
            checks.check("each server's state and figures are those of GET /v1/fleet", matched, json.dumps(shown))
            checks.check("server 0 shows 5 busy of 16, server 1 9 busy", [x["active_calls"] for x in shown] == ["5", "9"])
            checks.check("totals: servers up", page.text_content("#total-up") == "2 of 2", page.text_content("#total-up"))
            checks.check("totals: who decides (an instance outside a cluster decides alone)",
                         page.text_content("#total-decider") == "this instance, alone", page.text_content("#total-decider"))

            # A server made to fail turns down within 2 s, without a reload.
            started = time.monotonic()
            sim.mode(1, "500")
            wait_js(page, f"document.querySelector('li.server[data-url=\"{s1}\"] [data-field=state]')?.textContent === 'down'", 4000)
            elapsed = time.monotonic() - started
            checks.check("a failing server turns down on the page within 2 s", elapsed <= 2.0, f"{elapsed:.2f} s")
            checks.check("it says why it is passed over",
                         "down" in page.text_content(f'li.server[data-url="{s1}"] [data-field=passed_over]'))

            # Add with verify (the admin token is asked for on the page), then save.
            page.fill("#add-url", s2)
            page.click("#verify-button")
            page.wait_for_selector("#access:not([hidden])", timeout=5000)
            checks.check("checking a server asks for the admin token", "admin token" in page.text_content("#access-reason"))
            page.fill("#access-token", ADMIN)
            page.press("#access-token", "Enter")
            wait_js(page, "document.getElementById('verify-result').textContent.startsWith('healthy')", 5000)
            checks.check("the check shows the server's health before saving",
                         page.text_content("#verify-result") == "healthy, 16 of 16 workers free", page.text_content("#verify-result"))
            page.click("#add-button")
            checks.check("the new entry is listed, not yet saved, with its check",
                         "not saved" in page.text_content(f'#entries li[data-url="{s2}"]')
                         and "Checked: healthy" in page.text_content(f'#entries li[data-url="{s2}"]'))
            page.click("#save-button")
            wait_js(page, "document.getElementById('save-result').textContent.startsWith('Saved')", 5000)
            _, stored = request(settings, token=ADMIN)
            checks.check("save with If-Match stores the added server", stored["voxcore_fleet"] == [s0, s1, s2] and stored["version"] == 2,
                         json.dumps(stored))

            # Remove with a confirmation, then save.
            page.click(f'#entries li[data-url="{s1}"] button[data-action=remove]')
            checks.check("removing asks for a confirmation first",
                         page.is_visible(f'#entries li[data-url="{s1}"] button[data-action=confirm-remove]')
                         and request(settings, token=ADMIN)[1]["voxcore_fleet"] == [s0, s1, s2])
            page.click(f'#entries li[data-url="{s1}"] button[data-action=confirm-remove]')
            page.click("#save-button")
            wait_js(page, "document.getElementById('save-result').textContent.startsWith('Saved: version 3')", 5000)
            _, stored = request(settings, token=ADMIN)
            checks.check("the removal is saved", stored["voxcore_fleet"] == [s0, s2], json.dumps(stored))

            # A conflicting save shows both lists and overwrites nothing.
            page.fill("#add-url", "http://127.0.0.1:9")
            page.press("#add-url", "Enter")
            status, _ = request(settings, "PUT", ADMIN, {"voxcore_fleet": [s0]}, {"If-Match": '"3"'})
            page.click("#save-button")
            page.wait_for_selector("#conflict:not([hidden])", timeout=5000)
            mine = page.eval_on_selector_all("#conflict-mine li", "items => items.map((i) => i.textContent)")
            theirs = page.eval_on_selector_all("#conflict-theirs li", "items => items.map((i) => i.textContent)")
            _, stored = request(settings, token=ADMIN)
            checks.check("a conflicting save shows both lists", mine == [s0, s2, "http://127.0.0.1:9"] and theirs == [s0],
                         f"mine {mine}, theirs {theirs}")
            checks.check("and overwrites nothing", stored["voxcore_fleet"] == [s0] and stored["version"] == 4, json.dumps(stored))
            page.click("#conflict-take")
            checks.check("taking the saved list loads it", page.eval_on_selector_all("#entries li", "i => i.map((x) => x.dataset.url)") == [s0])

            # A bad entry shows the service's reason next to it.
            page.fill("#add-url", "ftp://fleet-9.example.com")
            page.press("#add-url", "Enter")
            page.click("#save-button")
            page.wait_for_selector('#entries li[data-url="ftp://fleet-9.example.com"] .entry-error', timeout=5000)
            reason = page.text_content('#entries li[data-url="ftp://fleet-9.example.com"] .entry-error')
            checks.check("a bad entry shows its reason next to it", reason == "not an absolute http or https URL", reason)
            checks.check("and nothing was saved", request(settings, token=ADMIN)[1]["version"] == 4)
            page.click("#revert-button")

            # Keyboard: reach the add field with Tab, add with Enter, remove with Enter twice.
            page.focus("body")
            for _ in range(60):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.id") == "add-url":
                    break
            checks.check("Tab reaches the add field", page.evaluate("document.activeElement.id") == "add-url")
            page.keyboard.type("http://127.0.0.1:7")
            page.keyboard.press("Enter")
            page.focus('#entries li[data-url="http://127.0.0.1:7"] button[data-action=remove]')
            page.keyboard.press("Enter")
            checks.check("Enter on Remove moves focus to the confirmation",
                         page.evaluate("document.activeElement.dataset.action") == "confirm-remove")
            page.keyboard.press("Enter")
            checks.check("and Enter there removes it",
                         page.eval_on_selector_all("#entries li", "i => i.map((x) => x.dataset.url)") == [s0])

            # The service restarts: the page says it is reconnecting, then is live again.
            seconds, exit_status = serve.stop()
            checks.check("SIGTERM with the page's stream open exits promptly", seconds < 3 and exit_status == 0,
                         f"{seconds:.2f} s, status {exit_status}")
            wait_js(page, "document.getElementById('connection').dataset.connection === 'reconnecting'", 5000)
            checks.check("the page says it is reconnecting", "Reconnecting" in page.text_content("#connection"))
            serve = Serve(args.dispatch, db, log, port=serve.port)
            wait_js(page, "document.getElementById('connection').dataset.connection === 'live'", 10000)
            checks.check("and is live again after the restart, without a reload", "Live" in page.text_content("#connection"))

            # Operator states from a server's card: drain with a reason, maintenance, resume.
            admin_url = serve.base + "/v1/fleet/admin"
            card = f'li.server[data-url="{s0}"]'
            state_js = f"document.querySelector('{card} [data-field=admin_state]')?.textContent || ''"
            page.click(f"{card} button[data-state=draining]")
            checks.check("Drain asks for a confirmation saying what it does",
                         page.is_visible("#admin-dialog") and "calls in progress finish" in page.text_content("#admin-effect"))
            checks.check("and changes nothing before it is confirmed", request(admin_url, token=PICKER)[1]["servers"][0]["state"] == "active")
            page.fill("#admin-reason", "kernel upgrade")
            page.click("#admin-confirm")
            wait_js(page, f"({state_js}).includes('by admin')", 5000)
            shown = page.evaluate(state_js)
            checks.check("the card shows the drain with why, who and since when",
                         shown.startswith("draining") and "kernel upgrade" in shown and "by admin" in shown and "since" in shown, shown)
            checks.check("while draining it shows the calls left", page.text_content(f"{card} [data-field=calls_left]") == "5")
            checks.check("and why it is passed over",
                         "draining (operator)" in page.text_content(f"{card} [data-field=passed_over]"))
            _, states = request(admin_url, token=PICKER)
            checks.check("the drain is stored with its reason and who", states["servers"][0]["state"] == "draining"
                         and states["servers"][0]["reason"] == "kernel upgrade" and states["servers"][0]["by"] == "admin", json.dumps(states))
            page.locator(card).screenshot(path=os.path.join(shots, "operator-page-draining.png"))
            page.click(f"{card} button[data-state=maintenance]")
            page.click("#admin-confirm")
            wait_js(page, f"({state_js}).startsWith('maintenance')", 5000)
            checks.check("Maintenance from the card", request(admin_url, token=PICKER)[1]["servers"][0]["state"] == "maintenance")
            page.click(f"{card} button[data-state=active]")
            checks.check("Resume says it takes calls again", "takes calls again" in page.text_content("#admin-effect"))
            page.click("#admin-confirm")
            wait_js(page, f"({state_js}) === 'active'", 5000)
            _, states = request(admin_url, token=PICKER)
            checks.check("Resume: active again, three changes in the history",
                         states["servers"][0]["state"] == "active" and [c["state"] for c in states["history"][:3]] == ["active", "maintenance", "draining"],
                         json.dumps(states["history"][:3]))
            page.click(f"{card} button[data-state=draining]")
            page.click("#admin-cancel")
            checks.check("Cancel changes nothing", page.is_hidden("#admin-dialog")
                         and request(admin_url, token=PICKER)[1]["servers"][0]["state"] == "active")

            # Layout and screenshots, with a fleet that shows every kind of card.
            request(settings, "PUT", ADMIN, {"voxcore_fleet": [s0, s1, s2]})
            sim.mode(2, "draining")
            for _ in range(3):
                request(serve.base + "/v1/pick", "POST", PICKER)
            wait_js(page, f"document.querySelector('li.server[data-url=\"{s2}\"] [data-field=state]')?.textContent === 'draining'", 5000)
            wait_js(page, f"document.querySelector('li.server[data-url=\"{s1}\"] [data-field=state]')?.textContent === 'down'", 8000)
            wait_js(page, "document.querySelectorAll('#entries li[data-url]').length === 3", 5000)
            # A fresh view for the pictures (the token stays: sessionStorage survives a reload).
            page.reload()
            wait_js(page, "document.getElementById('connection').dataset.connection === 'live'", 10000)
            wait_js(page, "document.querySelectorAll('#entries li[data-url]').length === 3", 5000)
            layouts = {}
            for width in (390, 1440):
                page.set_viewport_size({"width": width, "height": 900 if width == 390 else 1000})
                page.wait_for_timeout(300)
                layout = page.evaluate(LAYOUT)
                layouts[width] = layout
                checks.check(f"{width} px: nothing overflows sideways",
                             layout["scrollWidth"] <= layout["clientWidth"] and layout["count"] == 0, json.dumps(layout))
                page.screenshot(path=os.path.join(shots, f"operator-page-{width}.png"), full_page=True)
            checks.check("the layouts differ: cards side by side at 1440 px, stacked at 390 px",
                         page.evaluate("""() => { const cards = [...document.querySelectorAll('li.server')];
                             return new Set(cards.map((c) => Math.round(c.getBoundingClientRect().top))).size; }""") == 1)
            contrast = page.evaluate(CONTRAST)
            checks.check("text contrast is at least 4.5:1", contrast[0][0] >= 4.5, f"lowest {contrast[0][0]:.2f}: {contrast[0][1]}")
            browser.close()
        checks.check("no JavaScript or console errors", not errors, "; ".join(errors[:5]) or
                     f"{len(network_errors)} network-status lines from the provoked 401/412/400 answers and the restart ignored")
        open_page_logs_nothing(args.dispatch, work, s0, checks)
        if args.store:
            ingress_on_the_page(args, work, sim, checks, shots)
        else:
            print("skip the ingress views (no --store: run through scripts/with-postgres.sh)")
    finally:
        serve.stop()
        sim.stop()
    print(f"screenshots: {shots}")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
