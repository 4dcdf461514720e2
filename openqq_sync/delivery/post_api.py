"""``post_api``: POST every report to the user's URL, in order, retrying until it gets through.

The protocol thread only calls :meth:`PostApiReporter.submit` (append under a lock); one
named worker thread per receiver does the HTTP. One worker keeps deliveries in order: while
the head item is retried, later items wait behind it in a bounded in-memory queue. An item
is retried with exponential backoff until it is delivered or its retry window (counted from
acceptance) runs out; what is dropped (queue full, window over, stop deadline) is logged
with counts. Delivery is at least once: a receiver that answered too slowly may see an item
twice.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import http.client
import json
import logging
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, Optional

from ._http1 import Http1Connection


log = logging.getLogger(__name__)

USER_AGENT = "Mozilla/5.0 (openqq-sync post_api)"
#: Statuses that mean "try again later"; any other answer counts as delivered.
RETRY_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0

ReplyHandler = Callable[[Any, Dict[str, Any]], None]


@dataclass
class _Item:
    body: bytes
    context: Any                      # the received Message whose reply may act, else None
    accepted: float
    attempts: int = 0


@dataclass
class Stats:
    accepted: int = 0
    delivered: int = 0
    retries: int = 0
    dropped_full: int = 0             # refused at submit: the queue was full
    expired: int = 0                  # retry window over
    abandoned: int = 0                # still queued when stop() gave up
    rejected: int = 0                 # delivered, but the receiver answered 4xx
    last_error: Optional[str] = field(default=None)


def redact(url: str) -> str:
    """``url`` for logs: no user info, query or fragment (they may hold keys)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def sign_headers(secret: str, body: bytes, timestamp: int) -> Dict[str, str]:
    """HMAC headers: ``X-Signature`` (sha1 of the body) and the timestamped sha256 pair.

    The sha256 signature covers ``"<timestamp>.<body>"`` so a receiver can refuse replays.
    """
    key = secret.encode("utf-8")
    sha1 = hmac.new(key, body, hashlib.sha1).hexdigest()
    ts = str(int(timestamp))
    sha256 = hmac.new(key, ts.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Signature": f"sha1={sha1}", "X-Openqq-Timestamp": ts,
            "X-Openqq-Signature-256": f"sha256={sha256}"}


class PostApiReporter:
    """Ordered, retrying POST delivery to one URL. Thread-safe (``submit``/``stop``).

    :param url: the receiver.
    :param name: thread name (``openqq-<account>-post-api``).
    :param timeout: connect and read timeout of one attempt, seconds (the original's 5 s).
    :param queue_size: items held while the receiver is down; beyond it new items are dropped.
    :param retry_window: seconds after acceptance during which an item is retried.
    :param secret: ``post_secret`` for the HMAC headers, or None.
    :param self_id: returns the account's QQ number for ``X-Self-ID`` (None: header omitted).
    :param backoff: (first, max) seconds between attempts of one item; doubles per failure.
    :param on_reply: called on the worker thread with ``(context, answer)`` when the receiver
        answers a JSON object to an item submitted with a context; must not block for long.
    """

    def __init__(self, url: str, *, name: str = "openqq-post-api", timeout: float = 5.0,
                 queue_size: int = 10000, retry_window: float = 600.0,
                 secret: Optional[str] = None, self_id: Callable[[], Any] = lambda: None,
                 on_reply: Optional[ReplyHandler] = None,
                 backoff: "tuple[float, float]" = (BACKOFF_FIRST, BACKOFF_MAX),
                 _clock: Callable[[], float] = time.monotonic) -> None:  # test shim
        self.url = url
        # Logged form: a receiver URL may carry a key in its query string.
        self._log_url = redact(url)
        self.name = name
        self.timeout = timeout
        self.queue_size = max(1, queue_size)
        self.retry_window = retry_window
        self._secret = secret
        self._self_id = self_id
        self._on_reply = on_reply
        self.backoff_first, self.backoff_max = backoff
        self._clock = _clock
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._queue: Deque[_Item] = collections.deque()
        self._closing = False
        self._abort = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.stats = Stats()

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker. Not thread-safe against a concurrent ``stop``."""
        if self._thread is not None:
            raise RuntimeError("post_api reporter already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is queued for up to ``drain_timeout`` s, then give up; joins the worker.

        Idempotent; thread-safe.
        """
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, drain_timeout))
            self._abort.set()
            with self._cond:
                self._cond.notify_all()
            # An attempt in flight is bounded by its connect + read timeouts.
            thread.join(2 * self.timeout + 1)
            if thread.is_alive():
                log.warning("post_api worker %s still running after stop", self.name)
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
        if left:
            self.stats.abandoned += left
            log.warning("post_api: %d report(s) not delivered to %s at stop", left, self._log_url)

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    # --- producers -------------------------------------------------------------------
    def submit(self, body: bytes, context: Any = None) -> bool:
        """Queue one JSON body; returns at once. False when the queue is full (dropped).

        Thread-safe; safe to call from a signal receiver on the protocol thread.
        """
        with self._cond:
            if len(self._queue) >= self.queue_size:
                self.stats.dropped_full += 1
                dropped = self.stats.dropped_full
                full = True
            else:
                self._queue.append(_Item(body, context, self._clock()))
                self.stats.accepted += 1
                self._cond.notify()
                full = False
        if full and (dropped == 1 or dropped % 100 == 0):
            log.warning("post_api queue full (%d items): %d report(s) dropped so far",
                        self.queue_size, dropped)
        return not full

    # --- worker ----------------------------------------------------------------------
    def _run(self) -> None:
        log.debug("%s started", self.name)
        conn = _Connection(self.url, self.timeout)
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._queue or self._closing or self._abort.is_set())
                    if self._abort.is_set() or not self._queue:
                        return
                    item = self._queue[0]
                if not self._deliver(conn, item):
                    return          # aborted: the item stays queued and stop() counts it
                with self._cond:
                    # stop() may have cleared the queue meanwhile; pop only our own head.
                    if self._queue and self._queue[0] is item:
                        self._queue.popleft()
        except Exception:  # the worker must never die silently
            log.exception("%s crashed", self.name)
        finally:
            conn.close()
            log.debug("%s stopped", self.name)

    def _deliver(self, conn: "_Connection", item: _Item) -> bool:
        """Attempt ``item`` until delivered or expired (True) or aborted (False). Worker thread only."""
        delay = self.backoff_first
        while not self._abort.is_set():
            item.attempts += 1
            if self.attempt(conn, item):
                return True
            if self._clock() - item.accepted >= self.retry_window:
                self.stats.expired += 1
                log.warning("post_api: giving up a report after %d attempt(s) (%s); %d expired so far",
                            item.attempts, self.stats.last_error, self.stats.expired)
                return True
            self.stats.retries += 1
            # Jitter spreads the retries of several clients pointed at one receiver.
            self._abort.wait(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self.backoff_max)
        return False

    def attempt(self, conn: "_Connection", item: _Item) -> bool:
        """One POST. True when the item needs no further attempt. Worker thread only."""
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        self_id = self._self_id()
        if self_id is not None:
            headers["X-Self-ID"] = str(self_id)
        if self._secret:
            headers.update(sign_headers(self._secret, item.body, int(time.time())))
        try:
            status, ctype, content = conn.post(item.body, headers)
        except (OSError, http.client.HTTPException) as e:
            self.stats.last_error = type(e).__name__
            log.info("post_api %s: %s (attempt %d)", self._log_url, type(e).__name__, item.attempts)
            return False
        if status in RETRY_STATUSES:
            self.stats.last_error = f"HTTP {status}"
            log.info("post_api %s: HTTP %d (attempt %d)", self._log_url, status, item.attempts)
            return False
        self.stats.delivered += 1
        if status >= 400:
            self.stats.rejected += 1
            log.warning("post_api %s refused a report: HTTP %d", self._log_url, status)
            return True
        if item.context is not None and self._on_reply is not None:
            answer = _json_answer(ctype, content)
            if answer is not None:
                try:
                    self._on_reply(item.context, answer)
                except Exception:
                    log.exception("post_api: acting on the receiver's answer failed")
        return True


class _Connection:
    """One kept-alive HTTP(S) connection to the receiver. Worker thread only.

    A lean client of our own (:mod:`._http1`) rather than ``requests`` or ``http.client``: a
    report is one small POST on the hot path of every message, and the per-report cost is
    the queueing delay of every report behind it at high rates.
    """

    def __init__(self, url: str, timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._conn = Http1Connection(parts.hostname or "", parts.port, https=parts.scheme == "https",
                                     timeout=timeout)

    def post(self, body: bytes, headers: Dict[str, str]) -> "tuple[int, str, bytes]":
        reused = self._conn.is_open
        try:
            return self._post(body, headers)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if not reused:
                raise
            # The receiver closed the idle kept-alive connection: once more on a fresh one.
            return self._post(body, headers)
        except BaseException:
            self.close()
            raise

    def _post(self, body: bytes, headers: Dict[str, str]) -> "tuple[int, str, bytes]":
        status, answer_headers, content = self._conn.post(self.path, body, headers)
        return status, answer_headers.get("content-type", ""), content

    def close(self) -> None:
        self._conn.close()


def _json_answer(content_type: str, content: bytes) -> Optional[Dict[str, Any]]:
    """The answer's JSON object when the receiver declared JSON (text/json, application/json)."""
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in ("application/json", "text/json"):
        return None
    try:
        data = json.loads(content.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        log.warning("post_api: the receiver's JSON answer is not valid JSON; ignored")
        return None
    return data if isinstance(data, dict) else None
