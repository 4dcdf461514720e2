"""``post_api``: POST every report to the user's URL; what was sent is never sent twice.

The emitting thread only calls :meth:`PostApiReporter.submit` (append under a lock); a few
named worker threads, each with its own kept-alive connection, do the HTTP. Delivery rules:

* A report whose request was fully written counts as delivered, whatever its answer and
  however late; it is never sent again (the original sent each report once).
* It is retried, oldest first with backoff within the retry window, only when it never
  reached the receiver (refused, unresolved, reset while being written) or was answered
  5xx or 429. While the oldest report waits for its retry, later ones wait behind it, so a
  receiver that was down gets everything accepted meanwhile, in order.
* Reports are written one after the other, in ``seq`` order. The next one goes out when the
  answer to the previous one has arrived or has been awaited for ``handoff`` seconds; the
  late answer is still read (and a ``reply`` acted on) until ``timeout``, on its own worker.
  So a receiver that never answers delays later reports by ``handoff`` each, not by the
  timeout, as long as fewer than ``workers`` answers are awaited at once.
* Answers are read within ``timeout`` in all and up to ``max_answer`` bytes; a bad answer
  (late, too large, malformed) is counted and logged, and the worker carries on.

What is dropped (queue full, retry window over, stop deadline) is logged with counts.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import hmac
import json
import logging
import random
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional

from .. import threads as _threads
from .outbound import DEFAULT_MAX_ANSWER, BadAnswer, Connection, NotSent

log = logging.getLogger(__name__)

USER_AGENT = "Mozilla/5.0 (openqq-sync post_api)"
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0

ReplyHandler = Callable[[Any, Dict[str, Any]], None]


def must_retry(status: int) -> bool:
    """Answers that say the report was not taken: try again later."""
    return status == 429 or 500 <= status < 600


@dataclass
class _Item:
    order: int                        # acceptance order (the report's seq order)
    body: bytes
    context: Any                      # the received Message whose reply may act, else None
    accepted: float
    attempts: int = 0
    delay: float = 0.0                # the next backoff, seconds
    not_before: float = 0.0           # monotonic time of the next attempt
    lane: bool = False                # holds the lane: later reports wait for it
    taken: bool = False               # taken by a worker and not yet settled
    worker: int = -1                  # the worker that took it


@dataclass
class Stats:
    accepted: int = 0
    delivered: int = 0                # requests fully sent (the answer aside)
    retries: int = 0
    dropped_full: int = 0             # refused at submit: the queue was full
    expired: int = 0                  # retry window over
    abandoned: int = 0                # still queued when stop() gave up
    rejected: int = 0                 # delivered, but the receiver answered 4xx
    bad_answers: int = 0              # delivered, but the answer was late, too large or malformed
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


def _often(count: int) -> bool:
    """Log the 1st and every 100th of a repeated problem, so a hostile peer cannot flood the log."""
    return count == 1 or count % 100 == 0


class PostApiReporter:
    """POST delivery to one URL by the rules above. Thread-safe (``submit``/``stop``/``pending``).

    :param url: the receiver.
    :param account: names the threads ``openqq-<account>-post-api-<n>``.
    :param timeout: seconds to connect, to write a report, and to read its whole answer
        (the original's 5 s).
    :param queue_size: reports held while the receiver is down; beyond it new ones are dropped.
    :param retry_window: seconds after acceptance during which a report is retried.
    :param secret: ``post_secret`` for the HMAC headers, or None.
    :param self_id: returns the account's QQ number for ``X-Self-ID`` (None: header omitted).
    :param on_reply: called on a worker with ``(context, answer)`` when the receiver answers a
        JSON object to a report submitted with a context; must not block for long.
    :param backoff: (first, max) seconds between attempts of one report; doubles per failure.
    :param workers: connections, hence answers awaited at once.
    :param handoff: seconds an answer holds up the next report (default: a fifth of ``timeout``).
    :param max_answer: bytes of answer read at most.
    """

    def __init__(self, url: str, *, account: str = "default", timeout: float = 5.0,
                 queue_size: int = 10000, retry_window: float = 600.0,
                 secret: Optional[str] = None, self_id: Callable[[], Any] = lambda: None,
                 on_reply: Optional[ReplyHandler] = None,
                 backoff: "tuple[float, float]" = (BACKOFF_FIRST, BACKOFF_MAX),
                 workers: int = 4, handoff: Optional[float] = None,
                 max_answer: int = DEFAULT_MAX_ANSWER) -> None:
        self.url = url
        # Logged form: a receiver URL may carry a key in its query string.
        self._log_url = redact(url)
        parts = urllib.parse.urlsplit(url)
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.account = account
        self.timeout = timeout
        self.handoff = timeout / 5 if handoff is None else handoff
        self.queue_size = max(1, queue_size)
        self.retry_window = retry_window
        self.workers = max(1, workers)
        self.max_answer = max_answer
        self._secret = secret
        self._self_id = self_id
        self._on_reply = on_reply
        self.backoff_first, self.backoff_max = backoff
        self._lock = threading.Lock()
        # One Condition per worker on the one lock, so the wanted worker is the one woken.
        self._wake = [threading.Condition(self._lock) for _ in range(self.workers)]
        self._busy: "set[int]" = set()    # workers holding a report
        self._queue: Deque[_Item] = collections.deque()
        self._order = 0
        self._in_flight = 0               # taken by a worker, not yet settled
        self._lane_busy = False           # a report is being written or its answer is awaited
        self._closing = False
        self._aborted = False
        self._conns: List[Connection] = []
        self._threads: List[threading.Thread] = []
        self.stats = Stats()

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        """Start the workers. Not thread-safe against a concurrent ``stop``."""
        if self._threads:
            raise RuntimeError("post_api reporter already started")
        for n in range(self.workers):
            conn = Connection.for_url(self.url, timeout=self.timeout, max_answer=self.max_answer)
            self._conns.append(conn)
            self._threads.append(_threads.spawn(self.account, f"post-api-{n + 1}",
                                                functools.partial(self._run, n, conn)))

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Deliver what is queued for up to ``drain_timeout`` s, then give up; joins the workers.

        Idempotent; thread-safe.
        """
        with self._lock:
            self._closing = True
            self._wake_all()
        me = threading.current_thread()
        threads = [t for t in self._threads if t is not me]
        _threads.join_all(threads, time.monotonic() + max(0.0, drain_timeout), time.monotonic)
        with self._lock:
            self._aborted = True
            self._wake_all()
        for conn in self._conns:
            conn.abort()
        # A request in flight ends at once: its socket was shut down.
        for name in _threads.join_all(threads, time.monotonic() + 2.0, time.monotonic):
            log.warning("post_api worker %s still running after stop", name)
        with self._lock:
            left = len(self._queue)
            self._queue.clear()
            self.stats.abandoned += left
        if left:
            log.warning("post_api: %d report(s) not delivered to %s at stop", left, self._log_url)

    def pending(self) -> int:
        """Reports accepted and not yet delivered, expired or abandoned."""
        with self._lock:
            return len(self._queue) + self._in_flight

    # --- producers -------------------------------------------------------------------
    def submit(self, body: bytes, context: Any = None) -> bool:
        """Queue one JSON body; returns at once. False when the queue is full (dropped).

        Thread-safe; safe to call from a signal receiver on the protocol thread.
        """
        with self._lock:
            if len(self._queue) >= self.queue_size:
                self.stats.dropped_full += 1
                dropped = self.stats.dropped_full
                full = True
            else:
                self._order += 1
                self._queue.append(_Item(self._order, body, context, time.monotonic(),
                                         delay=self.backoff_first))
                self.stats.accepted += 1
                if not self._lane_busy:     # else its holder comes back for it, or hands off
                    self._wake_next()
                full = False
        if full and _often(dropped):
            log.warning("post_api queue full (%d items): %d report(s) dropped so far",
                        self.queue_size, dropped)
        return not full

    # --- workers ---------------------------------------------------------------------
    def _run(self, worker: int, conn: Connection, ready: threading.Event) -> None:
        ready.set()
        try:
            while True:
                item = self._take(worker)
                if item is None:
                    return
                try:
                    self._post(conn, item)
                except Exception:  # one report must never cost the worker
                    log.exception("post_api: delivering a report failed")
                    self._settle(item, delivered=False)
        finally:
            conn.close()

    def _take(self, worker: int) -> Optional[_Item]:
        """The oldest report once the lane is free and its backoff over; None: stop.

        Only the lowest-numbered worker not holding a report takes one, so a healthy receiver
        sees one kept-alive connection (a single-threaded receiver serves one at a time).
        """
        with self._lock:
            while True:
                if self._aborted or (self._closing and not self._queue):
                    self._busy.add(worker)      # gone: never the one to take a report
                    return None
                wait = None
                if self._queue and not self._lane_busy and worker == self._next_worker():
                    wait = self._queue[0].not_before - time.monotonic()
                    if wait <= 0:
                        item = self._queue.popleft()
                        self._lane_busy = item.lane = item.taken = True
                        item.worker = worker
                        self._busy.add(worker)
                        self._in_flight += 1
                        return item
                self._wake[worker].wait(wait)

    def _next_worker(self) -> int:
        """The worker that takes the next report. Lock held."""
        return next((n for n in range(self.workers) if n not in self._busy), -1)

    def _wake_next(self) -> None:
        """Wake the worker that takes the next report, if it waits. Lock held."""
        n = self._next_worker()
        if n >= 0:
            self._wake[n].notify()

    def _wake_all(self) -> None:
        for cond in self._wake:
            cond.notify_all()

    def _free_lane(self, item: _Item) -> None:
        """Let the next report go. Lock held."""
        if item.lane:
            item.lane = self._lane_busy = False
            if self._queue:
                self._wake_next()

    def _release(self, item: _Item) -> None:
        """``item`` no longer occupies its worker. Lock held."""
        self._free_lane(item)
        if item.taken:
            item.taken = False
            self._in_flight -= 1
            self._busy.discard(item.worker)
            if self._queue:
                self._wake_next()

    def _settle(self, item: _Item, delivered: bool = True) -> None:
        """The report is done with (sent, or given up)."""
        with self._lock:
            if item.taken:
                self.stats.delivered += delivered
            self._release(item)

    def _post(self, conn: Connection, item: _Item) -> None:
        """Send ``item`` once and read its answer. Worker thread only; holds the lane on entry."""
        item.attempts += 1
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        self_id = self._self_id()
        if self_id is not None:
            headers["X-Self-ID"] = str(self_id)
        if self._secret:
            headers.update(sign_headers(self._secret, item.body, int(time.time())))
        try:
            conn.send("POST", self._path, item.body, headers)
        except NotSent as e:
            self._retry(item, str(e).split(":")[0])
            return
        def late() -> None:
            with self._lock:
                self._free_lane(item)       # a late answer no longer holds up the next report

        try:
            answer = conn.answer(self.timeout, late=self.handoff, on_late=late)
        except BadAnswer as e:
            self._settle(item)
            self._bad_answer(str(e))
            return
        if must_retry(answer.status):
            self._retry(item, f"HTTP {answer.status}")
            return
        self._settle(item)
        if answer.status >= 400:
            with self._lock:
                self.stats.rejected += 1
            log.warning("post_api %s refused a report: HTTP %d", self._log_url, answer.status)
            return
        if item.context is not None and self._on_reply is not None:
            data = _json_answer(answer.headers.get("content-type", ""), answer.body)
            if data is not None:
                try:
                    self._on_reply(item.context, data)
                except Exception:
                    log.exception("post_api: acting on the receiver's answer failed")

    def _retry(self, item: _Item, error: str) -> None:
        """Put ``item`` back in its place for a later attempt, or give it up."""
        log.info("post_api %s: %s (attempt %d)", self._log_url, error, item.attempts)
        now = time.monotonic()
        with self._lock:
            self.stats.last_error = error
            if self._aborted:
                self._release(item)
                self.stats.abandoned += 1
                return
            if now - item.accepted >= self.retry_window:
                self.stats.expired += 1
                expired = self.stats.expired
            else:
                expired = 0
                self.stats.retries += 1
                # Jitter spreads the retries of several clients pointed at one receiver.
                item.not_before = now + item.delay * random.uniform(0.8, 1.2)
                item.delay = min(item.delay * 2, self.backoff_max)
                at = 0
                while at < len(self._queue) and self._queue[at].order < item.order:
                    at += 1
                self._queue.insert(at, item)
            self._release(item)
        if expired:
            log.warning("post_api: giving up a report after %d attempt(s) (%s); %d expired so far",
                        item.attempts, error, expired)

    def _bad_answer(self, error: str) -> None:
        with self._lock:
            self.stats.bad_answers += 1
            self.stats.last_error = error
            count = self.stats.bad_answers
        if _often(count):
            log.warning("post_api %s: %s; the report counts as delivered (%d bad answer(s) so far)",
                        self._log_url, error, count)


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
