"""One forward WebSocket to a OneBot v11 server (``websockets``' threading API).

A :class:`Connection` is used once: :meth:`Connection.open` connects and starts its reader
thread; it ends (for good) when the socket closes, the server's heartbeat stops, or
:meth:`Connection.close` is called. Reconnecting means opening a new one
(:func:`open_with_backoff`), so a dead connection's reader can never deliver twice.

* **Actions** (:meth:`Connection.call`, any thread): ``{"action", "params", "echo"}`` with a
  unique echo; the reader hands the answer with that echo to the waiting caller. ``ok``
  (or ``async``) returns ``data``; ``failed`` raises :class:`ActionFailed` with the retcode;
  no answer within the action timeout raises :class:`ActionTimeout`; a connection that ends
  first raises :class:`ConnectionLost`.
* **Events** (:meth:`Connection.next_event`, the protocol thread's blocking receive):
  every frame with a ``post_type``, meta events included, in arrival order.
* **Liveness**: the library's WebSocket pings (a missing pong closes the socket) plus a
  watchdog on the OneBot ``heartbeat`` meta event: the connection ends when none comes within
  ``heartbeat_misses`` (+ half) of its ``interval``, for servers whose socket stays open while
  their event side died. It runs from the connect when the interval is known beforehand
  (``expect_heartbeat``: an earlier connection's, since ``lifecycle/connect`` does not carry
  it), else from the first heartbeat (a server may have them off).
* **Token**: sent as ``Authorization: Bearer``; a server that refuses it (HTTP 401/403 at
  the handshake, or NapCat's ``retcode 1403`` frame before it closes) ends the connection
  with :class:`TokenRejected`.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import re
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from ...errors import OpenQQError, TransportError

__all__ = [
    "ActionFailed",
    "ActionTimeout",
    "Connection",
    "ConnectionLost",
    "TokenRejected",
    "open_with_backoff",
]

log = logging.getLogger(__name__)

#: Member lists of large groups come as one frame; the library's default is 1 MiB.
MAX_FRAME = 64 * 1024 * 1024

_WAKE: Dict[str, Any] = {}   # queued by wake(): next_event returns None for it


class ConnectionLost(TransportError):
    """The WebSocket ended (closed, no pong, no heartbeat, or never opened).

    :param sent: for an action, True when its frame went out before the end (it may have
        run), False when it never left.
    """

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class TokenRejected(ConnectionLost):
    """The server refused the access token (401/403 handshake, or retcode 1403): a verdict,
    so it carries status 403 and the core does not wait for the server as for an outage."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message, sent=sent)
        self.status = 403


class ActionTimeout(TransportError):
    """No answer to an action within its timeout; the action may still have run."""

    def __init__(self, action: str, timeout: float) -> None:
        super().__init__(f"no answer to {action} within {timeout:g} s")
        self.action = action
        self.timeout = timeout


class ActionFailed(OpenQQError):
    """The server answered ``status: failed``.

    :param retcode: the OneBot retcode (1400 bad params, 1404 unknown action, 1200 the
        action threw, NapCat's "Timeout: NTEvent ... sendMsg" among them).
    :param wording: the server's explanation (NapCat's ``wording``/``message``), or ``""``.
    """

    def __init__(self, action: str, retcode: Any, wording: str) -> None:
        super().__init__(f"{action} failed: retcode {retcode} {wording}".rstrip())
        self.action = action
        self.retcode = retcode
        self.wording = wording


class _Waiter:
    """One pending action. ``done`` is held until the answer (or the end) releases it once:
    a bare lock is one C call each way, where an Event is a Condition run in Python."""

    __slots__ = ("done", "answer")

    def __init__(self) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.answer: Optional[Mapping[str, Any]] = None   # None when the connection ended


class Connection:
    """One forward WebSocket: actions from any thread, events to one reader. Thread-safe.

    :param url: ``ws://host:port`` (the root path carries events and actions).
    :param token: the server's access token, or None.
    :param name: thread name of the reader (``openqq-<account>-onebot``).
    :param action_timeout: default seconds to wait for an action's answer.
    :param open_timeout: seconds for the TCP connect and the handshake.
    :param ping_interval: seconds between WebSocket pings (None: no pings).
    :param ping_timeout: seconds to wait for a pong before the socket counts as dead.
    :param heartbeat_misses: missed OneBot heartbeats (plus half an interval of slack)
        after which the connection ends.
    :param expect_heartbeat: seconds between the server's heartbeats as an earlier connection
        saw them: the watchdog runs from the connect (None: from the first heartbeat).
    :raises ValueError: a token an HTTP header cannot carry.
    """

    def __init__(self, url: str, *, token: Optional[str] = None, name: str = "openqq-onebot",
                 action_timeout: float = 30.0, open_timeout: float = 10.0,
                 ping_interval: Optional[float] = 20.0, ping_timeout: Optional[float] = 20.0,
                 heartbeat_misses: float = 2.0, expect_heartbeat: Optional[float] = None) -> None:
        if token is not None and not re.fullmatch(r"[\x21-\x7e]*", token):
            raise ValueError("the OneBot access token must be printable ASCII without spaces")
        self.url = url
        self.name = name
        self.action_timeout = action_timeout
        self._token = token
        self._open_timeout = open_timeout
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._misses = heartbeat_misses
        self._expect_heartbeat = expect_heartbeat
        self._lock = threading.Lock()
        self._ws: Optional[ClientConnection] = None
        self._reader: Optional[threading.Thread] = None
        self._waiters: Dict[str, _Waiter] = {}
        self._echo = itertools.count(1)
        self._events: "queue.SimpleQueue[Optional[Dict[str, Any]]]" = queue.SimpleQueue()  # None: the end
        self._ended: Optional[ConnectionLost] = None
        self._ended_event = threading.Event()
        self._closing = False
        self._heartbeat_deadline: Optional[float] = None
        self.heartbeat_interval: Optional[float] = None   # seconds, once a heartbeat came on this one
        self._opened = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------
    def open(self) -> "Connection":
        """Connect and start the reader; returns once connected. Blocking, bounded by
        ``open_timeout`` (plus a second).

        :raises TokenRejected: the handshake was refused with 401 or 403.
        :raises ConnectionLost: any other failure to connect.
        """
        with self._lock:
            if self._reader is not None:
                raise RuntimeError("a Connection is opened once")
            self._reader = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._reader.start()
        if not self._opened.wait(self._open_timeout + 1.0):
            self.close()
            raise ConnectionLost(f"{self.url}: no connection within {self._open_timeout:g} s")
        if self._ws is None:
            raise self._ended or ConnectionLost(f"{self.url}: cannot connect")
        log.info("connected to OneBot server %s", self.url)
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Close the socket, end every waiter and the event stream, join the reader.
        Idempotent; any thread except the reader's own."""
        with self._lock:
            self._closing = True
            ws = self._ws
            reader = self._reader
        if ws is not None:
            ws.close()
        if reader is not None and reader is not threading.current_thread():
            reader.join(timeout)
            if reader.is_alive():
                log.warning("thread %s still running %.0f s after close", reader.name, timeout)
        self._end(ConnectionLost("connection closed"))

    @property
    def alive(self) -> bool:
        """True between a successful open() and the end of the connection."""
        return self._ws is not None and self._ended is None

    @property
    def ended(self) -> Optional[ConnectionLost]:
        """Why the connection ended (None while alive or before open)."""
        return self._ended

    # -- actions --------------------------------------------------------------------------
    def call(self, action: str, params: Optional[Mapping[str, Any]] = None, *,
             timeout: Optional[float] = None) -> Any:
        """Run ``action`` and return its ``data``. Blocking; thread-safe.

        :raises ActionFailed: ``status: failed`` (with retcode and wording).
        :raises ActionTimeout: no answer within ``timeout`` (default ``action_timeout``).
        :raises ConnectionLost: the connection is not open or ended before the answer.
        """
        limit = self.action_timeout if timeout is None else timeout
        echo = str(next(self._echo))
        waiter = _Waiter()
        with self._lock:
            ws, ended = self._ws, self._ended
            if ws is not None and ended is None:
                self._waiters[echo] = waiter
        if ended is not None:
            raise type(ended)(f"{action}: {ended}")
        if ws is None:
            raise ConnectionLost(f"{action}: not connected")
        frame = json.dumps({"action": action, "params": dict(params or {}), "echo": echo}, ensure_ascii=False)
        try:
            ws.send(frame)
        except ConnectionClosed as e:
            with self._lock:
                self._waiters.pop(echo, None)
            # The reader knows why (a token refusal before the close): give it a moment.
            self._ended_event.wait(1.0)
            ended = self._ended or ConnectionLost(f"the connection closed ({e})")
            raise type(ended)(f"{action}: {ended}") from e
        if not waiter.done.acquire(timeout=min(limit, threading.TIMEOUT_MAX)):
            with self._lock:
                self._waiters.pop(echo, None)
            raise ActionTimeout(action, limit)
        answer = waiter.answer
        if answer is None:
            ended = self._ended or ConnectionLost("connection ended")
            raise type(ended)(f"{action}: {ended} before the answer", sent=True)
        if answer.get("status") in ("ok", "async"):
            return answer.get("data")
        wording = answer.get("wording") or answer.get("message") or answer.get("msg") or ""
        raise ActionFailed(action, answer.get("retcode"), str(wording))

    # -- events ---------------------------------------------------------------------------
    def next_event(self, timeout: Optional[float] = None) -> Optional[Dict[str, Any]]:
        """The next event (a dict with ``post_type``), or None after ``timeout`` seconds
        (or a :meth:`wake`).

        Call from one thread (the protocol thread). :raises ConnectionLost: the connection
        ended and every event it received was taken (raised again on each later call).
        """
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:
            self._events.put(None)   # for the next call, and any other reader
            raise self._ended or ConnectionLost("connection ended")
        if event is _WAKE:
            return None
        return event

    def wake(self) -> None:
        """Make a blocked :meth:`next_event` return None now. Thread-safe."""
        self._events.put(_WAKE)

    # -- the reader thread ----------------------------------------------------------------
    def _run(self) -> None:
        # The reader owns the socket for its whole life, through the library's documented
        # context manager; open() waits on _opened for the outcome of the connect.
        log.debug("thread %s started", self.name)
        reason: ConnectionLost = ConnectionLost("connection ended")
        headers = {"Authorization": "Bearer " + self._token} if self._token else None
        try:
            # proxy=None: loopback/LAN servers must not go through a system proxy;
            # compression=None: frames stay on a local link, deflate would only cost CPU.
            with connect(self.url, additional_headers=headers, proxy=None, compression=None,
                         open_timeout=self._open_timeout, ping_interval=self._ping_interval,
                         ping_timeout=self._ping_timeout, close_timeout=2.0, max_size=MAX_FRAME) as ws:
                if self._expect_heartbeat:
                    self._heartbeat_deadline = time.monotonic() + self._expect_heartbeat * (self._misses + 0.5)
                with self._lock:
                    self._ws = ws
                    closing = self._closing
                self._opened.set()
                reason = ConnectionLost("connection closed") if closing else self._read(ws)
        except InvalidStatus as e:
            status = e.response.status_code
            if status in (401, 403):
                reason = TokenRejected(f"{self.url}: the server refused the token (HTTP {status})")
            else:
                reason = ConnectionLost(f"{self.url}: handshake refused (HTTP {status})")
        except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as e:
            reason = ConnectionLost(f"{self.url}: cannot connect ({e})")
        except Exception as e:  # the thread's last line of defence: never die silently
            log.exception("thread %s crashed", self.name)
            reason = ConnectionLost(f"reader crashed: {e!r}")
        finally:
            self._end(reason)
            self._opened.set()
            log.debug("thread %s ended", self.name)

    def _read(self, ws: ClientConnection) -> ConnectionLost:
        while True:
            deadline = self._heartbeat_deadline
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                frame = ws.recv(timeout=wait)
            except TimeoutError:
                if self._heartbeat_deadline is not None and time.monotonic() >= self._heartbeat_deadline:
                    log.warning("no OneBot heartbeat from %s in time: reconnecting", self.url)
                    return ConnectionLost("the server's heartbeat stopped")
                continue
            except ConnectionClosed as e:
                if self._closing:
                    return ConnectionLost("connection closed")
                log.warning("OneBot connection to %s lost: %s", self.url, e)
                return ConnectionLost(f"connection lost ({e})")
            try:
                data = json.loads(frame)
            except ValueError:
                log.warning("ignoring a frame that is not JSON from %s: %.100r", self.url, frame)
                continue
            if not isinstance(data, dict):
                log.warning("ignoring a frame that is not a JSON object from %s: %.100r", self.url, frame)
                continue
            if data.get("retcode") == 1403 and data.get("echo") is None:
                log.error("OneBot server %s refused the access token", self.url)
                return TokenRejected("the server refused the token (retcode 1403)")
            if "post_type" in data:
                if data.get("post_type") == "meta_event" and data.get("meta_event_type") == "heartbeat":
                    self._heartbeat(data)
                self._events.put(data)
            elif "echo" in data:
                self._answer(data)
            else:
                log.debug("ignoring a frame without post_type or echo: %.100r", frame)

    def _heartbeat(self, event: Mapping[str, Any]) -> None:
        raw: Any = event.get("interval")  # anything the server sent; float() judges it
        try:
            interval = float(raw) / 1000.0
        except (TypeError, ValueError):
            return
        if interval > 0:
            self.heartbeat_interval = interval
            self._heartbeat_deadline = time.monotonic() + interval * (self._misses + 0.5)

    def _answer(self, answer: Mapping[str, Any]) -> None:
        with self._lock:
            waiter = self._waiters.pop(str(answer.get("echo")), None)
        if waiter is None:
            log.debug("answer for an echo nobody waits for (timed out?): %.100r", answer)
            return
        waiter.answer = answer
        waiter.done.release()

    def _end(self, reason: ConnectionLost) -> None:
        with self._lock:
            if self._ended is not None:
                return
            self._ended = reason
            waiters, self._waiters = self._waiters, {}
        self._ended_event.set()
        for waiter in waiters.values():
            waiter.done.release()
        self._events.put(None)


def open_with_backoff(make: Callable[[], Connection], stop: Any,
                      next_delay: Callable[[], float]) -> Optional[Connection]:
    """Open connections made by ``make`` until one opens; wait ``next_delay()`` seconds
    (``stop.wait``) after each failure. Returns None once ``stop.is_set()``.

    :param stop: anything with ``is_set()`` and ``wait(seconds) -> bool`` (an Event).
    :raises TokenRejected: the server refused the token: a configuration error, not retried.
    """
    while not stop.is_set():
        try:
            return make().open()
        except TokenRejected:
            raise
        except ConnectionLost as e:
            delay = next_delay()
            log.warning("%s; retrying in %.1f s", e, delay)
            if stop.wait(delay):
                break
    return None
