"""The sender thread: one outbound queue, paced by ``send_interval``, with TTL retries.

Protocol doc 8.4: each dispatch waits until ``send_interval`` seconds after the previous
one; a message that fails while it has TTL left goes back to the end of the queue; once
final, its status is stored, ``send_message`` is emitted and its :class:`SendHandle`
completes. What is sent, and whether a failure may be retried (``SendResult.final``: SmartQQ's
discussion -3, OneBot's 1200), is the backend's answer.

The thread never relogs in itself: failures the backend marks ``session_suspect`` (SmartQQ
-3) are counted and, at ``send_failure_count_max``, it *asks* for a relogin (8.8, house
style T4).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from typing import Any, Optional

from .. import signals
from ..backends import SendResult
from ..model import Message
from .runtime import Runtime

log = logging.getLogger(__name__)

SENT_OK = (0, "发送成功", "发送正常")
FAIL_TTL = (-5, "发送失败", "TTL失效")
FAIL_NETWORK = (-1, "发送失败", "数据格式错误")
FAIL_STOPPED = (-5, "发送失败", "客户端已停止")


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
    """Owns the outbound queue and its thread body (``run``)."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        # SimpleQueue: put and get are single C calls (Queue runs two Conditions in Python).
        self._queue: "queue.SimpleQueue[Optional[SendHandle]]" = queue.SimpleQueue()
        self._last_dispatch = 0.0
        self._failures = 0

    # -- producer side (any thread) ---------------------------------------------------------
    def submit(self, msg: Message) -> SendHandle:
        handle = SendHandle(msg)
        self._queue.put(handle)
        return handle

    def wake(self) -> None:
        """Unblock ``run`` so it sees the stop Event (one sentinel; house style T1)."""
        self._queue.put(None)

    # -- consumer side (the sender thread) --------------------------------------------------
    def run(self, ready: threading.Event) -> None:
        stop = self._rt.stop
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
                self._finish(handle, SendResult(*FAIL_NETWORK))
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
        interval = max(0.0, self._rt.config.send_interval)
        now = time.monotonic()
        delay = self._last_dispatch + interval - now
        if delay > 0 and self._rt.stop.wait(delay):
            return False
        self._last_dispatch = time.monotonic()
        return True

    def _dispatch(self, handle: SendHandle) -> None:
        msg = handle.msg
        if msg.ttl is not None and msg.ttl <= 0:
            self._finish(handle, SendResult(*FAIL_TTL))
            return
        msg.set(ttl=(msg.ttl if msg.ttl is not None else 5) - 1)
        if not self._pace():
            self._queue.put(handle)
            return
        if not self._rt.wait_online():  # stopping
            self._queue.put(handle)
            return
        msg.set(time=int(time.time()))
        result = self._rt.backend.send(msg)
        if result.ok or result.final or (msg.ttl or 0) <= 0:
            self._finish(handle, result)
        else:
            log.info("send %s failed (%s, %s); %s attempt(s) left", msg.id, result.code, result.info, msg.ttl)
            self._queue.put(handle)

    def _finish(self, handle: SendHandle, result: SendResult) -> None:
        msg = handle.msg
        msg.set_status(*result.status())
        if result.ok:
            self._failures = 0
        elif result.session_suspect:
            self._failures += 1
            if self._failures >= self._rt.config.send_failure_count_max:
                log.warning("%d consecutive send failures: asking for a relogin", self._failures)
                self._failures = 0
                self._rt.request_relogin(logout=False)
        self._rt.emit(signals.send_message, msg=msg)
        handle._complete()
