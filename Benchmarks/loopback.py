"""What the Python benchmark scripts share: JSON calls to the service on loopback, and starting
a child (serve, voxcore-sim) until its ready line, with the VOXBRIDGE_* variables left out."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request


def call(url, body=None, method=None):
    """(status, decoded JSON body); POST when there is a body, GET otherwise, unless `method` says."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def start(arguments, marker, log):
    """Starts `arguments` with its output in `log`; waits at most 60 s for `marker` (a regex).
    Returns the process, the output so far and the match."""
    out = open(log, "w")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOXBRIDGE_")}
    process = subprocess.Popen(arguments, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = open(log).read()
        found = re.search(marker, text)
        if found:
            return process, text, found
        if process.poll() is not None:
            sys.exit(f"{arguments[0]} exited: {text}")
        time.sleep(0.05)
    process.kill()
    sys.exit(f"{arguments[0]} did not start")
