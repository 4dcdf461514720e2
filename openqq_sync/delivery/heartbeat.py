"""The ``poll_api`` heartbeat (protocol document 11.10, API.md "关于心跳请求的说明").

While the client is ``running``, GET ``poll_api``; the remote server may hold the request
and then answer ``302 Location: http://127.0.0.1:5000/openqq/send_friend_message?...``,
which this loop follows, calling its own API. A redirect is followed only into this
server's own ``/openqq/`` API, and always to the very address and port it listens on, so
the token cannot reach another program (one on the other loopback family, say); any other
target is refused and logged. Between calls it waits ``poll_interval`` seconds; failures
back off (doubling, capped) and the loop never stops by itself. Answers are read within
the request timeout and up to a size cap (:mod:`.outbound`); ``stop()`` aborts a held GET.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple

from .. import signals
from .. import threads as _threads
from ..client import contacts as _lookup
from .outbound import DEFAULT_MAX_ANSWER, Answer, BadAnswer, Connection, NotSent
from .post_api import redact

if TYPE_CHECKING:
    from ..client.client import Client

log = logging.getLogger(__name__)

REDIRECTS = (301, 302, 303, 307, 308)
#: The loopback address of a wildcard bind's family: where a redirect to "us" connects.
WILDCARD = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}
LOOPBACK = ("127.0.0.1", "::1")
MAX_BACKOFF = 60.0


def own_api_target(location: str, base: str, own_host: str, own_port: int) -> Optional[Tuple[str, int, str]]:
    """Where to send a followed redirect: ``(connect_host, port, path?query)``, or None when
    ``location`` (resolved against ``base``) is not this server's own ``/openqq/`` API.

    ``own_host``/``own_port`` are the address the API is bound to. The connection always goes
    to that address (for a wildcard bind, the loopback address of its family); a Location
    naming another address, even another loopback one, is refused. Pure.
    """
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
    parts: List[str] = []
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
    connect = WILDCARD.get(own, own)
    allowed = {connect}
    if connect in LOOPBACK:
        allowed.add("localhost")        # a name for "this machine": we still connect to `connect`
    if host not in allowed:
        return None
    return connect, port, path + (f"?{url.query}" if url.query else "")


class Heartbeat:
    """The poll_api loop on a named thread. ``start``/``stop`` are thread-safe.

    :param client: gives the state (the loop runs only while ``running``) and ``state_change``.
    :param poll_api: the remote URL.
    :param own_address: returns this API's ``(host, port)`` once it listens.
    :param interval: ``poll_interval`` seconds.
    :param timeout: seconds for the whole answer of the held GET (and of the followed call).
    :param token: sent as a Bearer token when following into our own API.
    :param account: names the thread ``openqq-<account>-heartbeat``.
    :param max_answer: bytes of an answer read at most (the body is not used).
    """

    def __init__(self, client: Client, poll_api: str, *, own_address: Callable[[], Tuple[str, int]],
                 interval: float = 5.0, timeout: float = 120.0, connect_timeout: float = 10.0,
                 token: Optional[str] = None, account: str = "default",
                 max_answer: int = DEFAULT_MAX_ANSWER) -> None:
        self.client = client
        self.poll_api = poll_api
        self._log_url = redact(poll_api)
        self.own_address = own_address
        self.interval = interval
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.token = token
        self.account = account
        self.max_answer = max_answer
        self.failures = 0
        self.calls = 0
        self.bad_answers = 0
        self._cond = threading.Condition()
        self._stopped = False
        self._poll: Optional[Connection] = None       # kept alive between heartbeats
        self._busy: List[Connection] = []              # aborted by stop()
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        signals.state_change.connect(self._on_state, sender=self.client, weak=False)
        self._thread = _threads.spawn(self.account, "heartbeat", self._run)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, abort a held request, join. Idempotent."""
        signals.state_change.disconnect(self._on_state, sender=self.client)
        with self._cond:
            self._stopped = True
            busy = list(self._busy)
            self._cond.notify_all()
        for conn in busy:
            conn.abort()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s still running after stop", thread.name)

    def _on_state(self, sender: Any, **_: Any) -> None:
        with self._cond:
            self._cond.notify_all()

    def _running(self) -> bool:
        return _lookup.state_name(self.client) == "running"

    # --- loop ------------------------------------------------------------------------
    def _run(self, ready: threading.Event) -> None:
        ready.set()
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped or self._running())
                    if self._stopped:
                        return
                try:
                    ok = self.run_once()
                except Exception:  # one bad heartbeat must never end the loop
                    log.exception("poll_api heartbeat failed")
                    ok = False
                self.failures = 0 if ok else self.failures + 1
                with self._cond:
                    self._cond.wait_for(lambda: self._stopped, self.delay())
                    if self._stopped:
                        return
        finally:
            if self._poll is not None:
                self._poll.close()

    def delay(self) -> float:
        """Seconds to wait before the next call: ``interval``, doubled per failure, capped."""
        if not self.failures:
            return self.interval
        backoff: float = self.interval * (2 ** min(self.failures, 16))
        return min(backoff, max(self.interval, MAX_BACKOFF))

    def run_once(self) -> bool:
        """One heartbeat: GET poll_api, follow an allowed redirect. True unless it failed."""
        self.calls += 1
        url = urllib.parse.urlsplit(self.poll_api)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if self._poll is None:
            self._poll = Connection(url.scheme, url.hostname or "", url.port,
                                    timeout=self.connect_timeout, max_answer=self.max_answer)
        try:
            answer = self._get(self._poll, path, {})
        except (NotSent, BadAnswer) as e:
            log.info("poll_api %s failed: %s", self._log_url, e)
            return False
        location = answer.headers.get("location")
        if answer.status in REDIRECTS and location:
            return self._follow(location)
        if answer.status >= 500:
            log.info("poll_api %s: HTTP %d", self._log_url, answer.status)
            return False
        log.debug("poll_api %s: HTTP %d", self._log_url, answer.status)
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
        conn = Connection("http", connect, port, timeout=self.connect_timeout, max_answer=self.max_answer)
        try:
            answer = self._get(conn, path, headers)
        except (NotSent, BadAnswer) as e:
            log.warning("poll_api redirect to %s failed: %s", path.split("?")[0], e)
            return False
        finally:
            conn.close()
        log.info("poll_api redirect: %s answered HTTP %d", path.split("?")[0], answer.status)
        return True

    def _get(self, conn: Connection, path: str, headers: Dict[str, str]) -> Answer:
        """GET on ``conn``, abortable by ``stop()`` (registered under the lock it takes)."""
        with self._cond:
            if self._stopped:
                raise NotSent("stopping")
            self._busy.append(conn)
        try:
            return conn.request("GET", path, headers={"User-Agent": "openqq-sync heartbeat", **headers},
                                deadline=self.timeout)
        except BadAnswer:
            self.bad_answers += 1
            raise
        finally:
            with self._cond:
                self._busy.remove(conn)
