"""The dialout code's client of VoxBridge Dispatch: which VoxCore fleet server takes the next call.

One file, Python 3.9+ standard library only. Copy it next to your dialout code.

Drop-in for the old function::

    from voxbridge_dispatch import pick_fleet_server, NoCapacity
    server = pick_fleet_server()        # "http://10.0.0.7:8000", or raises NoCapacity

The whole dialout protocol (pick, place, on 429 release ``busy`` and pick again without that
server, on 5xx or no answer release ``failed``, at most 3 servers)::

    with client.dial() as dialout:
        for server in dialout:
            ...place the call on server...
            dialout.placed()   # or dialout.busy() (429), dialout.failed() (5xx, unreachable)

Where the dispatcher is: ``DispatchClient(urls=[...], token=...)``, or for the module-level
functions the environment: ``VOXBRIDGE_DISPATCH_URLS`` (comma-separated instance URLs, default
``http://127.0.0.1:8080``), ``VOXBRIDGE_PICK_TOKEN`` and ``VOXBRIDGE_DISPATCH_TIMEOUT``
(seconds, default 2). The HTTP API is described in docs/API.md.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple, Union

__all__ = [
    "DispatchClient",
    "Dialout",
    "Pick",
    "PassedOver",
    "InstanceFailure",
    "DispatchError",
    "NoCapacity",
    "FleetEmpty",
    "Unauthorized",
    "UnknownReservation",
    "Unavailable",
    "RetriesExhausted",
    "InvalidAnswer",
    "pick_fleet_server",
    "release",
    "dial",
    "default_client",
]

#: The reasons ``POST /v1/release`` accepts.
RELEASE_REASONS = ("not_placed", "busy", "failed")


@dataclass(frozen=True)
class PassedOver:
    """A fleet server a ``no_capacity`` answer passed over, and why."""

    url: str
    state: str
    reason: str
    admin_state: str = "active"
    """What an operator set: ``active``, ``draining`` or ``maintenance``."""


@dataclass(frozen=True)
class InstanceFailure:
    """Why one dispatcher instance gave no usable answer to one request."""

    instance: str
    reason: str
    timed_out: bool = False


class DispatchError(Exception):
    """Any error of this client. ``status``, ``code`` and ``message`` are the service's JSON
    error answer (``{"error": code, "message": message}``) when there was one."""

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None) -> None:
        super().__init__(message if code is None else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class NoCapacity(DispatchError):
    """503 ``no_capacity``: no fleet server can take a call now. ``servers`` says why each was
    passed over (``excluded``, ``full``, ``down: …``)."""

    def __init__(self, message: str, status: Optional[int], code: Optional[str], servers: Sequence[PassedOver]) -> None:
        super().__init__(message, status, code)
        self.servers: List[PassedOver] = list(servers)

    def __str__(self) -> str:
        reasons = "; ".join(f"{s.url} {s.state}: {s.reason}" for s in self.servers)
        return f"{super().__str__()} [{reasons}]" if reasons else super().__str__()


class FleetEmpty(NoCapacity):
    """503 ``fleet_empty``: the fleet list is empty (a kind of NoCapacity, with no servers)."""


class Unauthorized(DispatchError):
    """401 ``unauthorized``: the token is missing or wrong."""


class UnknownReservation(DispatchError):
    """404 ``unknown_reservation``: released already, settled by a newer health report, or expired."""


class Unavailable(DispatchError):
    """No dispatcher instance answered; ``failures`` has one item per instance tried, in order."""

    def __init__(self, failures: Sequence[InstanceFailure]) -> None:
        self.failures: List[InstanceFailure] = list(failures)
        text = "; ".join(f"{f.instance}: {f.reason}" for f in self.failures) or "no instance configured"
        super().__init__(f"no dispatcher instance answered: {text}")


class RetriesExhausted(DispatchError):
    """A dial tried ``max_attempts`` servers and each was busy or failed. ``attempts`` holds
    ``(server, "busy" | "failed")`` pairs in order."""

    def __init__(self, attempts: Sequence[Tuple[str, str]]) -> None:
        self.attempts: List[Tuple[str, str]] = list(attempts)
        text = ", ".join(f"{server} {outcome}" for server, outcome in self.attempts)
        super().__init__(f"every server tried was busy or failed: {text}")


class InvalidAnswer(DispatchError):
    """An instance answered with a body that is not what the API describes."""


class Pick(str):
    """The picked fleet server's URL (a ``str``, so it drops in where a URL was returned), with
    the reservation that holds a worker there until the call shows up in its health report."""

    reservation_id: str
    available: int
    workers: int
    elapsed_ms: float
    instance: str

    def __new__(cls, server: str, reservation_id: str, available: int, workers: int,
                elapsed_ms: float, instance: str, client: "DispatchClient") -> "Pick":
        pick = super().__new__(cls, server)
        pick.reservation_id = reservation_id
        pick.available = available
        pick.workers = workers
        pick.elapsed_ms = elapsed_ms
        pick.instance = instance
        pick._client = client
        return pick

    @property
    def server(self) -> str:
        """The fleet server's base URL as a plain ``str``."""
        return str.__str__(self)

    def release(self, reason: str = "not_placed") -> None:
        """Gives the reservation back: the call was not placed here, for ``reason``
        (``not_placed``, ``busy`` after a 429, ``failed`` after a 5xx or no answer)."""
        self._client.release(self, reason)


class DispatchClient:
    """A client of one dispatcher, or of several instances tried in turn when one does not answer.

    ``urls``: instance base URLs (a list, or a comma-separated string). ``token``: the pick
    token, sent as ``Authorization: Bearer``. ``timeout``: seconds, the bound on connecting to
    an instance and on each read of its answer; an instance that runs out of it is skipped for
    the next one. ``max_attempts``: servers one dial tries at most (the first and two retries).
    Thread-safe: share one client between threads.
    """

    def __init__(self, urls: Union[str, Sequence[str]] = "http://127.0.0.1:8080", token: Optional[str] = None,
                 timeout: float = 2.0, max_attempts: int = 3) -> None:
        if isinstance(urls, str):
            urls = [u for u in (part.strip() for part in urls.split(",")) if u]
        self.urls: List[str] = [u.rstrip("/") for u in urls]
        self.token = token
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self._preferred = 0
        self._lock = threading.Lock()
        # A dispatcher never redirects; following one could send the token elsewhere.
        self._opener = urllib.request.build_opener(_NoRedirect)

    def pick(self, exclude: Iterable[str] = ()) -> Pick:
        """``POST /v1/pick``: the fleet server for one dialout, never one in ``exclude``.

        Raises NoCapacity (FleetEmpty when the list is empty), Unauthorized, Unavailable when no
        instance answered, DispatchError for any other error answer."""
        excluded = list(exclude)
        body = {"exclude": excluded} if excluded else None
        instance, status, data = self._send("/v1/pick", body, None)
        if status != 200:
            raise _error(status, data)
        try:
            answer = json.loads(data)
            return Pick(answer["server"], answer["reservation_id"], int(answer["available"]),
                        int(answer["workers"]), float(answer["elapsed_ms"]), instance, self)
        except (ValueError, KeyError, TypeError) as error:
            raise InvalidAnswer(f"{instance}: pick answer {data[:200]!r}: {error}") from None

    def release(self, pick: Pick, reason: str = "not_placed") -> None:
        """``POST /v1/release``: the call was not placed on ``pick``, for ``reason``
        (``not_placed``, ``busy``, ``failed``). Sent to the instance that made the pick first.

        Raises UnknownReservation when it ended already, and the errors of ``pick``."""
        if reason not in RELEASE_REASONS:
            raise ValueError(f"reason must be one of {', '.join(RELEASE_REASONS)}")
        body = {"reservation_id": pick.reservation_id, "reason": reason}
        start = self.urls.index(pick.instance) if pick.instance in self.urls else None
        _, status, data = self._send("/v1/release", body, start)
        if status != 200:
            raise _error(status, data)

    def dial(self, exclude: Iterable[str] = ()) -> "Dialout":
        """The whole dialout protocol as a context manager; see ``Dialout``."""
        return Dialout(self, exclude)

    def _send(self, path: str, body: Optional[dict], start: Optional[int]) -> Tuple[str, int, bytes]:
        """POSTs ``body`` to the instances in turn, from ``start`` or the preferred one, until
        one gives an answer of the service's own; returns (instance, status, body)."""
        if not self.urls:
            raise Unavailable([])
        with self._lock:
            first = self._preferred if start is None else start
        data = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token}"
        failures: List[InstanceFailure] = []
        for offset in range(len(self.urls)):
            index = (first + offset) % len(self.urls)
            instance = self.urls[index]
            request = urllib.request.Request(instance + path, data=data, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    status, answer = response.status, response.read(1 << 20)
            except urllib.error.HTTPError as error:
                status, answer = error.code, error.read(1 << 20)
                error.close()
            except (urllib.error.URLError, OSError) as error:
                reason = getattr(error, "reason", error)
                timed_out = isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason)
                failures.append(InstanceFailure(instance, "timed out" if timed_out else str(reason), timed_out))
                continue
            if status >= 500:
                code = _code(answer)
                # no_capacity and fleet_empty are the fleet's state, the same on every instance;
                # any other 5xx is this instance's trouble: try the next one.
                if code not in ("no_capacity", "fleet_empty"):
                    failures.append(InstanceFailure(instance, f"HTTP {status} {code or ''}".strip()))
                    continue
            with self._lock:
                self._preferred = index
            return instance, status, answer
        raise Unavailable(failures)


class Dialout:
    """One dialout placed through the protocol: iterate it for servers to try, and say for each
    what happened with ``placed()``, ``busy()`` (the server answered 429) or ``failed()`` (5xx or
    no answer). After ``busy()`` or ``failed()`` the reservation is released with that reason
    and the next server is picked without every server tried so far; after ``max_attempts``
    servers the iteration raises RetriesExhausted. The pick's own errors (NoCapacity,
    Unavailable, …) come out of the iteration too.

    Leaving the ``with`` block by an exception while a server has no verdict releases it
    ``not_placed`` (raise only when the call was not placed); leaving it normally without a
    verdict keeps the reservation, as for a placed call. A release that fails does not stop the
    dialout: the reservation then expires on the dispatcher by itself.
    """

    def __init__(self, client: DispatchClient, exclude: Iterable[str] = ()) -> None:
        self._client = client
        self._exclude: List[str] = list(exclude)
        self._current: Optional[Pick] = None
        self._placed: Optional[Pick] = None
        #: ``(server, "busy" | "failed")`` for every server that did not take the call.
        self.attempts: List[Tuple[str, str]] = []

    @property
    def server(self) -> Optional[Pick]:
        """The server that took the call, once ``placed()`` was called."""
        return self._placed

    def __enter__(self) -> "Dialout":
        """The dialout itself: iterate it for servers."""
        return self

    def __exit__(self, exc_type: Optional[type], exc: Optional[BaseException], traceback: object) -> bool:
        if self._current is not None:
            pick, self._current = self._current, None
            if exc_type is not None:
                _quietly(pick.release, "not_placed")
        return False

    def __iter__(self) -> "Dialout":
        """The dialout is its own iterator."""
        return self

    def __next__(self) -> Pick:
        """The next server to try: picked without every server tried so far."""
        if self._placed is not None:
            raise StopIteration
        if self._current is not None:
            raise DispatchError(f"say placed(), busy() or failed() for {self._current.server} before the next server")
        if len(self.attempts) >= self._client.max_attempts:
            raise RetriesExhausted(self.attempts)
        self._current = self._client.pick(self._exclude + [server for server, _ in self.attempts])
        return self._current

    def placed(self) -> None:
        """The current server took the call: the reservation stays and settles by itself."""
        self._placed, self._current = self._verdict(), None

    def busy(self) -> None:
        """The current server answered 429: release ``busy``, next server without it."""
        self._give_back("busy")

    def failed(self) -> None:
        """The current server answered 5xx or could not be reached: release ``failed``, next server."""
        self._give_back("failed")

    def _give_back(self, reason: str) -> None:
        pick = self._verdict()
        self._current = None
        self.attempts.append((pick.server, reason))
        _quietly(pick.release, reason)

    def _verdict(self) -> Pick:
        if self._current is None:
            raise DispatchError("no server to give a verdict on: iterate the dialout first")
        return self._current


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: the answer is taken as it is."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 (urllib's hook)
        return None


def _quietly(release, reason: str) -> None:
    """Releases, ignoring the dispatcher's errors: the reservation expires by itself anyway."""
    try:
        release(reason)
    except DispatchError:
        pass


def _code(data: bytes) -> Optional[str]:
    try:
        answer = json.loads(data)
        return answer.get("error") if isinstance(answer, dict) else None
    except ValueError:
        return None


def _error(status: int, data: bytes) -> DispatchError:
    """The typed error for a service's error answer."""
    try:
        answer = json.loads(data)
        if not isinstance(answer, dict):
            raise ValueError
        code, message = str(answer.get("error")), str(answer.get("message", ""))
    except ValueError:
        return DispatchError(data[:200].decode("utf-8", "replace"), status, f"http_{status}")
    if status == 503 and code == "fleet_empty":
        return FleetEmpty(message, status, code, [])
    if status == 503 and code == "no_capacity":
        servers = [PassedOver(str(s.get("url")), str(s.get("state")), str(s.get("reason")), str(s.get("admin_state") or "active"))
                   for s in (answer.get("servers") or []) if isinstance(s, dict)]
        return NoCapacity(message, status, code, servers)
    if status == 401:
        return Unauthorized(message, status, code)
    if status == 404 and code == "unknown_reservation":
        return UnknownReservation(message, status, code)
    return DispatchError(message, status, code)


_default: Optional[Tuple[Tuple[str, str, str], DispatchClient]] = None
_default_lock = threading.Lock()


def default_client() -> DispatchClient:
    """The client the module-level functions use, from ``VOXBRIDGE_DISPATCH_URLS``,
    ``VOXBRIDGE_PICK_TOKEN`` and ``VOXBRIDGE_DISPATCH_TIMEOUT`` (made again when they change)."""
    global _default
    key = (os.environ.get("VOXBRIDGE_DISPATCH_URLS", "http://127.0.0.1:8080"),
           os.environ.get("VOXBRIDGE_PICK_TOKEN", ""), os.environ.get("VOXBRIDGE_DISPATCH_TIMEOUT", "2"))
    with _default_lock:
        if _default is None or _default[0] != key:
            _default = (key, DispatchClient(key[0], key[1] or None, float(key[2])))
        return _default[1]


def pick_fleet_server(exclude: Iterable[str] = (), *, client: Optional[DispatchClient] = None) -> Pick:
    """The fleet server URL for the next dialout (a ``str``; ``.release(reason)`` gives its
    reservation back if the call is not placed). Raises NoCapacity with the reasons, FleetEmpty
    (a NoCapacity) for an empty list, Unauthorized, Unavailable."""
    return (client or default_client()).pick(exclude)


def release(pick: Pick, reason: str = "not_placed") -> None:
    """Gives ``pick``'s reservation back, for ``reason`` (``not_placed``, ``busy``, ``failed``)."""
    pick.release(reason)


def dial(exclude: Iterable[str] = (), *, client: Optional[DispatchClient] = None) -> Dialout:
    """The whole dialout protocol as a context manager, on the default client; see ``Dialout``."""
    return (client or default_client()).dial(exclude)
