"""waitress's worker pool, handing each request to the most recently idle thread.

waitress wakes idle workers in the order they went idle, so a steady stream of requests
walks through the whole pool: with 160 threads every request lands on a thread that has
not run for 160 requests, and a small-answer read route served about a quarter fewer
requests per second than the same app with 8 threads (bench/reads.py's floor, measured
both ways). Waking the most recently idle thread instead keeps the few threads a steady
load needs busy and leaves the rest asleep until a burst or held requests need them.
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

from waitress.task import ThreadedTaskDispatcher


class StackCondition:
    """A condition variable on ``lock`` whose ``notify`` wakes the newest waiter first.

    The subset of :class:`threading.Condition` that waitress's dispatcher uses: ``wait``,
    ``notify``, ``notify_all``, each called with ``lock`` held.
    """

    def __init__(self, lock: Any) -> None:
        self._lock = lock
        self._waiters: List[Any] = []     # a stack of per-waiter locks, newest last

    def wait(self, timeout: Optional[float] = None) -> bool:
        waiter = threading.Lock()
        waiter.acquire()
        self._waiters.append(waiter)
        self._lock.release()
        woken = False
        try:
            woken = waiter.acquire() if timeout is None else waiter.acquire(True, timeout)
            return woken
        finally:
            self._lock.acquire()
            if not woken:
                try:
                    self._waiters.remove(waiter)
                except ValueError:   # notified just as the wait ended: the notify is spent
                    pass

    def notify(self, n: int = 1) -> None:
        while self._waiters and n > 0:
            self._waiters.pop().release()
            n -= 1

    def notify_all(self) -> None:
        self.notify(len(self._waiters))


class HotThreadDispatcher(ThreadedTaskDispatcher):
    """waitress's ThreadedTaskDispatcher with :class:`StackCondition` as its task signal."""

    def __init__(self) -> None:
        super().__init__()
        self.queue_cv = StackCondition(self.lock)
