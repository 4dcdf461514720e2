"""The store behind ``/openqq/check_event``: the original's drain buffer plus a lossless cursor.

Two views of one stream, guarded by one lock and one Condition:

* the *drain buffer* (the original's behaviour): a FIFO of ``max_size`` items (oldest dropped
  when full); a call takes everything buffered, or waits for the next item and takes exactly
  that one. Several waiters compete for items; a waiter that loses keeps waiting for the next
  item or its timeout, so nobody is answered ``[null]`` as in the original (section 17, #13).
* the *retained stream* (new): the last ``retention`` items with their ``seq``; a cursor read
  (``since=SEQ``) returns every retained item after SEQ without removing anything, so several
  consumers each see everything.

Waiters hold a thread each (waitress's worker, house style W3), so their number is capped
(``max_waiters``): past the cap a read answers at once with what there is, as a timeout would.
A waiter given a ``gone`` callable (the caller hung up) checks it every ``GONE_POLL`` seconds and
right before taking, so the drain item of a caller that went away stays for the next reader.

Waking the cursor readers is a relay, not a stampede: ``notify_all`` on a hundred waiters
makes every one of their threads fight for this lock and the GIL at once. An append wakes
``RELAY_WIDTH`` cursor readers, and each reader that leaves with something to answer wakes
one more, so about that many threads are runnable at any time. A reader woken with nothing
new (it came after the append) ends its relay; everyone queued behind it came later still, so
nobody who should wake is left asleep.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

from ..config import Config

log = logging.getLogger(__name__)

Item = Dict[str, Any]

#: Cursor readers an append wakes at once (figures in bench/RESULTS.md, session 3).
RELAY_WIDTH = 16
#: Seconds between two checks of a waiter's ``gone`` callable.
GONE_POLL = 1.0
#: Worker threads a waitress pool keeps free of long-polls for every other route (W3).
FREE_THREADS = 8


def waiter_cap(config: Config) -> int:
    """The waiters allowed: ``config.max_event_waiters``, lowered so that a pool of
    ``config.threads`` keeps :data:`FREE_THREADS` threads for every other route."""
    return max(1, min(config.max_event_waiters, config.threads - FREE_THREADS))


class EventBuffer:
    """Bounded event store with long-poll reads. Thread-safe.

    :param max_size: capacity of the drain buffer (``check_event_list_max_size``).
    :param retention: how many items the cursor stream keeps (``check_event_retention``).
    :param max_waiters: concurrent long-poll readers allowed; further readers are answered at
        once (``[]`` or what is there) so that waiters can never starve waitress's thread pool.
    """

    def __init__(self, max_size: int = 20, retention: int = 1000, max_waiters: int = 100) -> None:
        self._lock = threading.Lock()
        # Two Conditions on one lock: drain readers compete for single items, cursor readers
        # all want every item (see the relay in the module doc).
        self._drained = threading.Condition(self._lock)
        self._advanced = threading.Condition(self._lock)
        self._drain: Deque[Item] = collections.deque(maxlen=max(1, max_size))
        self._retained: Deque[Tuple[int, Item]] = collections.deque(maxlen=max(1, retention))
        self._last_seq = 0
        self._waiters = 0
        self._max_waiters = max(0, max_waiters)
        self._closed = False

    # --- producers -------------------------------------------------------------------
    def append(self, item: Item, *, seq: int, drain: bool = True) -> None:
        """Add one item with its sequence number. Thread-safe; never blocks for long.

        :param drain: also put it into the drain buffer (the original's check_event content);
            ``False`` keeps it in the cursor stream only.
        """
        with self._lock:
            self._retained.append((seq, item))
            self._last_seq = max(self._last_seq, seq)
            if drain:
                self._drain.append(item)
                self._drained.notify_all()
            self._advanced.notify(RELAY_WIDTH)

    def close(self) -> None:
        """Wake every waiter (they answer with what they have) and refuse new waits. Thread-safe."""
        with self._lock:
            self._closed = True
            self._drained.notify_all()
            self._advanced.notify_all()

    # --- readers ---------------------------------------------------------------------
    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._last_seq

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed

    @property
    def waiters(self) -> int:
        with self._lock:
            return self._waiters

    def take(self, timeout: float, gone: Optional[Callable[[], bool]] = None) -> List[Item]:
        """The original check_event: everything buffered, else ``[next item]``, else ``[]``.

        :param gone: True once the caller went away; then nothing is taken and ``[]`` returned.
        Thread-safe; blocks up to ``timeout`` seconds.
        """
        with self._lock:
            if self._drain and not _gone(gone):
                items = list(self._drain)
                self._drain.clear()
                return items
            if not self._enter_wait():
                return []
            try:
                deadline = time.monotonic() + timeout
                while True:
                    if _gone(gone):
                        # notify_all woke every drain waiter, so the item is not stranded.
                        return []
                    if self._drain:
                        # One item per woken waiter, as the original answered; the rest stays
                        # buffered for the next call, which then returns at once.
                        return [self._drain.popleft()]
                    remaining = deadline - time.monotonic()
                    if self._closed or remaining <= 0:
                        return []
                    self._drained.wait(remaining if gone is None else min(remaining, GONE_POLL))
            finally:
                self._waiters -= 1

    def since(self, seq: int, timeout: float, gone: Optional[Callable[[], bool]] = None) -> List[Item]:
        """Every retained item with a ``seq`` above ``seq``; waits up to ``timeout`` if none.

        Nothing is removed. A ``seq`` above the last one given out comes from before a
        restart (numbering starts over in a new process): it reads from the start, else the
        consumer would miss everything up to its old number. A waiter whose ``gone()`` turns
        True leaves with ``[]``, freeing its place under the cap. Thread-safe.
        """
        with self._lock:
            seq = self._reading_from(seq)
            items = self._after(seq)
            if items or timeout <= 0 or not self._enter_wait():
                return items
            try:
                deadline = time.monotonic() + timeout
                while not (self._closed or self._last_seq > seq):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or _gone(gone):
                        return []
                    self._advanced.wait(remaining if gone is None else min(remaining, GONE_POLL))
                # Pass the relay on even when this wait also timed out: the notify that
                # raced the timeout was meant for the next reader too.
                self._advanced.notify()
                return self._after(seq)
            finally:
                self._waiters -= 1

    def oldest_seq(self) -> Optional[int]:
        """The lowest retained ``seq`` (None when empty): a reader whose cursor is below it
        may have missed items. Thread-safe."""
        with self._lock:
            return self._retained[0][0] if self._retained else None

    # --- helpers (call with the lock held) -------------------------------------------
    def _reading_from(self, seq: int) -> int:
        # A seq above the last one given out comes from before a restart: read from 0.
        return 0 if seq > self._last_seq else seq

    def _after(self, seq: int) -> List[Item]:
        if not self._retained or self._retained[-1][0] <= seq:
            return []
        # From the newest end: the cost is the items returned, not the retention, since
        # this runs under the lock that every emit (protocol thread included) takes.
        items = []
        for s, item in reversed(self._retained):
            if s <= seq:
                break
            items.append(item)
        items.reverse()
        return items

    def _enter_wait(self) -> bool:
        if self._closed:
            return False
        if self._waiters >= self._max_waiters:
            log.warning("check_event: %d waiters already, answering at once", self._waiters)
            return False
        self._waiters += 1
        return True


def _gone(gone: Optional[Callable[[], bool]]) -> bool:
    if gone is None:
        return False
    try:
        return bool(gone())
    except Exception:   # a server's callable must not cost a reader its answer
        log.exception("check_event: the disconnect check failed")
        return False
