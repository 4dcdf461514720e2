"""The sender thread: one outbound queue, paced by ``send_interval``, with TTL retries.

Protocol doc 8.4: each dispatch waits until ``send_interval`` seconds after the previous
one; a message that fails while it has TTL left goes back to the end of the queue; once
final, its status is stored, ``send_message`` is emitted and its :class:`SendHandle`
completes. Discussion messages failing with -3 are not retried (as the original).
Sess messages fetch their signature here, on the sender thread (cached 300 s, 8.6).

The thread never relogs in itself: -3 failures are counted and, at
``send_failure_count_max``, it *asks* the client for a relogin (8.8, house style T4).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Any, Dict, Optional, Tuple

from .model import Message
from .protocol import send as send_api
from .protocol.errors import OpenQQError

log = logging.getLogger(__name__)

SENT_OK = (0, "发送成功", "发送正常")
FAIL_TTL = (-5, "发送失败", "TTL失效")
FAIL_NO_SIG = (-5, "发送失败", "无法获取到sess_sig")
FAIL_NETWORK = (-1, "发送失败", "数据格式错误")
FAIL_STOPPED = (-5, "发送失败", "客户端已停止")
SYNCED = (0, "发送成功", "来自其他设备")

SESS_SIG_TTL = 300.0


class SendHandle:
    """The result of one send: ``wait(timeout)`` returns the completed :class:`Message`.

    Thread-safe.
    """

    __slots__ = ("msg", "_final", "_pending")

    def __init__(self, msg: Message) -> None:
        self.msg = msg
        self._final = False
        # Held from creation until the send is final. A waiter blocks acquiring it and hands
        # it on at once, so every waiter gets through; a bare lock is a single C call each
        # way, where an Event is a Condition run in Python on both threads of every send.
        self._pending = threading.Lock()
        self._pending.acquire()

    @property
    def id(self) -> Any:
        return self.msg.id

    def done(self) -> bool:
        return self._final

    def wait(self, timeout: Optional[float] = None) -> Message:
        """Block until the send is final; the message then has ``code``, ``msg``, ``info``.

        :raises TimeoutError: not final within ``timeout`` seconds (the send goes on).
        """
        if self._final:
            return self.msg
        limit = -1 if timeout is None else min(max(0.0, timeout), threading.TIMEOUT_MAX)
        if self._pending.acquire(timeout=limit):
            self._pending.release()
        elif not self._final:
            # (When final, another waiter held the lock for an instant: that is not a timeout.)
            raise TimeoutError(f"send {self.msg.id} not completed within {timeout} s")
        return self.msg

    def _complete(self) -> None:
        """Make the send final and release its waiters. Called once, by the sender thread
        (or by the one that cancels the queue after it)."""
        if self._final:
            return
        self._final = True
        self._pending.release()


class MessageIds:
    """Outgoing message ids (protocol doc 4): ``(unix seconds mod 10000) * 10000`` + n."""

    def __init__(self, now: Optional[float] = None) -> None:
        start = (int(time.time() if now is None else now) % 10000) * 10000
        self._next = itertools.count(start + 1)
        self._lock = threading.Lock()

    def __call__(self) -> int:
        with self._lock:
            return next(self._next)


class Sender:
    """Owns the outbound queue and its thread body (``run``).

    :param client: the owning Client (config, transport, credentials, user, emit).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        # SimpleQueue: put and get are single C calls (Queue runs two Conditions in Python).
        self._queue: "queue.SimpleQueue[Optional[SendHandle]]" = queue.SimpleQueue()
        self._last_dispatch = 0.0
        self._sigs: Dict[Tuple[Any, Any, int], Tuple[float, str]] = {}
        self._failures = 0
        self._session: Any = None

    # -- producer side (any thread) ---------------------------------------------------------
    def submit(self, msg: Message) -> SendHandle:
        handle = SendHandle(msg)
        self._queue.put(handle)
        return handle

    def wake(self) -> None:
        """Unblock ``run`` so it sees the stop Event (one sentinel; house style T1)."""
        self._queue.put(None)

    def clear_sess_sigs(self) -> None:
        self._sigs = {}

    @property
    def session(self) -> Any:
        return self._session

    # -- consumer side (the sender thread) --------------------------------------------------
    def run(self, ready: threading.Event) -> None:
        client = self._client
        stop = client._stop_event
        self._session = client._transport.new_session()
        client._register_session(self._session)
        ready.set()
        while not stop.is_set():
            handle = self._queue.get()
            if handle is None:
                continue
            if stop.is_set():
                self._queue.put(handle)
                break
            try:
                self._dispatch(handle)
            except Exception:
                log.exception("send %s failed unexpectedly", handle.msg.id)
                self._finish(handle, FAIL_NETWORK)
        self._cancel_pending()

    def _cancel_pending(self) -> None:
        cancelled = 0
        while True:
            try:
                handle = self._queue.get_nowait()
            except queue.Empty:
                break
            if handle is not None and not handle.done():
                handle.msg.set_status(*FAIL_STOPPED)
                handle._complete()
                cancelled += 1
        if cancelled:
            log.info("cancelled %d queued send(s) on stop", cancelled)

    def _pace(self) -> bool:
        """Wait for the send interval; False if stopping."""
        interval = max(0.0, float(self._client.config.send_interval))
        now = time.monotonic()
        delay = self._last_dispatch + interval - now
        if delay > 0 and self._client._stop_event.wait(delay):
            return False
        self._last_dispatch = time.monotonic()
        return True

    def _dispatch(self, handle: SendHandle) -> None:
        client = self._client
        msg = handle.msg
        if msg.ttl is not None and msg.ttl <= 0:
            self._finish(handle, FAIL_TTL)
            return
        msg.set(ttl=(msg.ttl if msg.ttl is not None else 5) - 1)
        if not self._pace():
            self._queue.put(handle)
            return
        creds = client._wait_credentials()
        if creds is None:  # stopping
            self._queue.put(handle)
            return
        msg.set(time=int(time.time()))
        status = self._send_once(msg, creds)
        kind = msg.type
        final = status[0] == 0 or (msg.ttl or 0) <= 0 or (kind == "discuss_message" and status[0] == -3)
        if status == FAIL_NO_SIG:
            final = True
        if final:
            self._finish(handle, status)
        else:
            log.info("send %s failed (%s, %s); %s attempt(s) left", msg.id, status[0], status[2], msg.ttl)
            self._queue.put(handle)

    def _face(self, kind: str) -> int:
        user = self._client.contacts.user
        face = user.get("face") if user is not None else None
        if not face:
            return 570 if kind == "friend_message" else 591
        return int(face)

    def _send_once(self, msg: Message, creds: Any) -> Tuple[int, str, str]:
        client = self._client
        t = client._transport
        kind = msg.type
        sig = None
        service_type = None
        if kind == "friend_message":
            target = msg.receiver_id
        elif kind == "group_message":
            target = msg.group_id
        elif kind == "discuss_message":
            target = msg.discuss_id
        else:
            target = msg.receiver_id
            via_group = msg.via == "group"
            service_type = 0 if via_group else 1
            owner_id = msg.group_id if via_group else msg.discuss_id
            sig = self._sess_sig(creds, owner_id, target, service_type)
            if not sig:
                return FAIL_NO_SIG
            msg.set(sess_sig=sig)
        try:
            status = send_api.send(t, creds, kind, target, msg.raw_content, msg.id, self._face(kind),
                                   sess_sig=sig, service_type=service_type, session=self._session)
        except OpenQQError as e:
            log.warning("send %s: %s", msg.id, e)
            if getattr(e, "aborted", False):
                self._session = t.new_session()
                client._register_session(self._session)
            return FAIL_NETWORK
        return (status.code, status.msg, status.info)

    def _sess_sig(self, creds: Any, owner_id: Any, to_uin: Any, service_type: int) -> Optional[str]:
        key = (owner_id, to_uin, service_type)
        now = time.monotonic()
        cached = self._sigs.get(key)
        if cached and now - cached[0] < SESS_SIG_TTL:
            return cached[1]
        try:
            sig = send_api.get_sess_sig(self._client._transport, creds, owner_id, to_uin, service_type,
                                       session=self._session)
        except OpenQQError as e:
            log.warning("no sess signature for %s/%s: %s", owner_id, to_uin, e)
            return None
        if sig:
            self._sigs[key] = (now, sig)
        return sig

    def _finish(self, handle: SendHandle, status: Tuple[int, str, str]) -> None:
        msg = handle.msg
        msg.set_status(*status)
        code = status[0]
        if code == 0:
            self._failures = 0
        elif code == -3:
            self._failures += 1
            if self._failures >= self._client.config.send_failure_count_max:
                log.warning("%d consecutive send failures: asking for a relogin", self._failures)
                self._failures = 0
                self._client._request_relogin(logout=False)
        self._client._emit_send(msg)
        handle._complete()

