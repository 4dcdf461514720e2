"""The ``poll_api`` heartbeat (protocol document 11.10, API.md "关于心跳请求的说明").

While the client is ``running``, GET ``poll_api``; the remote server may hold the request
and then answer ``302 Location: http://127.0.0.1:5000/openqq/send_friend_message?...``,
which this loop follows, calling its own API. A redirect is followed only into this
server's own ``/openqq/`` API; any other target is refused and logged. Between calls it
waits ``poll_interval`` seconds; failures back off (doubling, capped) and the loop never
stops by itself.

The requests use ``http.client`` rather than ``requests`` because a held GET must be
abortable from ``stop()``: shutting the socket down ends the blocked read at once.
"""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import urllib.parse
from typing import Any, Callable, Optional, Tuple

from .. import signals
from ..client import contacts as _lookup
from .post_api import redact

log = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
MAX_BACKOFF = 60.0


def own_api_target(location: str, base: str, own_host: str, own_port: int) -> Optional[Tuple[str, int, str]]:
    """Where to send a followed redirect: ``(connect_host, port, path?query)``, or None when
    ``location`` (resolved against ``base``) is not this server's own ``/openqq/`` API. Pure."""
    url = urllib.parse.urlsplit(urllib.parse.urljoin(base, location))
    if url.scheme != "http" or url.username or url.password:
        return None
    try:
        port = url.port or 80
    except ValueError:
        return None
    host = (url.hostname or "").lower()
    if port != own_port:
        return None
    path = url.path
    # Normalise away dot segments so "/openqq/../admin" cannot pass the prefix test.
    parts = []
    for seg in path.split("/"):
        if seg == "..":
            if parts:
                parts.pop()
        elif seg not in (".",):
            parts.append(seg)
    path = "/".join(parts)
    if not path.startswith("/openqq/"):
        return None
    own = own_host.lower()
    allowed = {own}
    if own in WILDCARD or own in LOOPBACK:
        allowed.update(LOOPBACK)
    if host not in allowed:
        return None
    connect = "127.0.0.1" if host in WILDCARD or host == "localhost" else host
    return connect, port, path + (f"?{url.query}" if url.query else "")


class Heartbeat:
    """The poll_api loop on a named thread. ``start``/``stop`` are thread-safe.

    :param client: gives the state (the loop runs only while ``running``) and ``state_change``.
    :param poll_api: the remote URL.
    :param own_address: returns this API's ``(host, port)`` once it listens.
    :param interval: ``poll_interval`` seconds.
    :param timeout: read timeout of the held GET (and of the followed call).
    :param token: sent as a Bearer token when following into our own API.
    """

    def __init__(self, client: Any, poll_api: str, *, own_address: Callable[[], Tuple[str, int]],
                 interval: float = 5.0, timeout: float = 120.0, connect_timeout: float = 10.0,
                 token: Optional[str] = None, name: str = "openqq-heartbeat") -> None:
        self.client = client
        self.poll_api = poll_api
        self._log_url = redact(poll_api)
        self.own_address = own_address
        self.interval = interval
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.token = token
        self.name = name
        self.failures = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._stopped = False
        self._conn: Optional[http.client.HTTPConnection] = None
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        signals.state_change.connect(self._on_state, sender=self.client, weak=False)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, abort a held request, join. Idempotent."""
        signals.state_change.disconnect(self._on_state, sender=self.client)
        with self._cond:
            self._stopped = True
            conn = self._conn
            self._cond.notify_all()
        _abort(conn)
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s still running after stop", self.name)

    def _on_state(self, sender: Any, **_: Any) -> None:
        with self._cond:
            self._cond.notify_all()

    def _running(self) -> bool:
        return _lookup.state_name(self.client) == "running"

    # --- loop ------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped or self._running())
                    if self._stopped:
                        return
                ok = self.run_once()
                self.failures = 0 if ok else self.failures + 1
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped, self.delay())
                    if self._stopped:
                        return
        except Exception:
            log.exception("%s crashed", self.name)

    def delay(self) -> float:
        """Seconds to wait before the next call: ``interval``, doubled per failure, capped."""
        if not self.failures:
            return self.interval
        return min(self.interval * (2 ** min(self.failures, 16)), max(self.interval, MAX_BACKOFF))

    def run_once(self) -> bool:
        """One heartbeat: GET poll_api, follow an allowed redirect. True unless it failed."""
        self.calls += 1
        url = urllib.parse.urlsplit(self.poll_api)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            status, location = self._get(url.scheme, url.hostname or "", url.port, path, {})
        except (OSError, http.client.HTTPException) as e:
            log.info("poll_api %s failed: %s", self._log_url, type(e).__name__)
            return False
        if status in REDIRECTS and location:
            return self._follow(location)
        if status >= 500:
            log.info("poll_api %s: HTTP %d", self._log_url, status)
            return False
        log.debug("poll_api %s: HTTP %d", self._log_url, status)
        return True

    def _follow(self, location: str) -> bool:
        host, port = self.own_address()
        target = own_api_target(location, self.poll_api, host, port)
        if target is None:
            log.warning("poll_api redirect refused (not this server's /openqq/ API): %s",
                        urllib.parse.urlsplit(location)._replace(query="").geturl())
            return True
        connect, port, path = target
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            status, _ = self._get("http", connect, port, path, headers)
        except (OSError, http.client.HTTPException) as e:
            log.warning("poll_api redirect to %s failed: %s", path.split("?")[0], type(e).__name__)
            return False
        log.info("poll_api redirect: %s answered HTTP %d", path.split("?")[0], status)
        return True

    def _get(self, scheme: str, host: str, port: Optional[int], path: str,
             headers: dict) -> Tuple[int, Optional[str]]:
        cls = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        conn = cls(host, port, timeout=self.connect_timeout)
        try:
            conn.connect()
            # Published only once connected, under the lock stop() takes: either stop() sees
            # the socket and shuts it down, or this sees the stop flag.
            with self._cond:
                if self._stopped:
                    raise ConnectionAbortedError("stopping")
                self._conn = conn
            conn.sock.settimeout(self.timeout)
            conn.request("GET", path, headers={"User-Agent": "openqq-sync heartbeat", **headers})
            resp = conn.getresponse()
            resp.read()
            return resp.status, resp.getheader("Location")
        finally:
            with self._cond:
                self._conn = None
            conn.close()


def _abort(conn: Optional[http.client.HTTPConnection]) -> None:
    sock = getattr(conn, "sock", None) if conn is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
