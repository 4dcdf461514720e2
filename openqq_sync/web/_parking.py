"""Held ``check_event?since=`` requests parked on waitress's loop thread, not on a worker.

A waiting cursor read used to hold one waitress worker thread until its event came. On an
event every held thread had to wake and answer: with 500 waiters on 2 cores that took
100-500 ms of CPU, mostly thread switching and the GIL handed to and fro, and the last
waiter heard of the event that late. Parked requests hold no thread: when the event buffer
changes, the loop thread encodes each distinct answer once and writes it to every parked
connection, a few microseconds each.

Only the plain case is parked, the one :class:`~._fastpath.FastReads` answers itself: a GET
of ``/openqq/check_event`` with a numeric ``since``, no body, the token right, HTTP/1.1 kept
alive, no other request of the connection waiting before it, and nothing to answer yet. The
same request with a few items already there (a consumer keeping up) is answered by the loop
thread at once. Requests pipelined behind a parked one wait for its answer, then go to a
worker. Everything else (the original's drain
``check_event`` included) goes to the worker threads as before, and the answer bytes are
the ones the worker path writes (tests compare them).

Threads: the waitress loop thread does all parking, answering and bookkeeping; one timer
thread (``<server name>-parking``) only tells the loop when the oldest parked request is
due, since the loop itself wakes just once a second. Others reach the loop through a wake-up
pipe of our own in the loop's map, not waitress's trigger: a thread pulling that trigger
waits on its lock while the loop runs every queued thunk, so an event's producer (the
protocol thread) would wait for a whole answering pass.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from waitress.trigger import trigger as _waitress_pipe

from ._fastpath import CHECK_EVENT, FastReads
from ._http import dumps
from ._wire import Channel, LoopHook, environ_of, ok_answer, plain_keep_alive_get, queue_on_loop

log = logging.getLogger(__name__)

#: Most items a check_event answered at once by the loop thread may carry.
READY_MAX = 64


class ParkedPolls(LoopHook["Tuple[int, Optional[list]]"]):
    """Parks cursor long-polls of one waitress server. Thread-safe where stated; the rest
    runs on the loop thread.

    :param fast: the app's :class:`FastReads` (token and parameter rules, the event buffer).
    :param name: the timer thread's name.
    """

    what = "parked polls"

    def __init__(self, fast: FastReads, *, name: str) -> None:
        super().__init__()
        self._fast = fast
        self._buffer = fast.api.delivery.buffer
        self._timeout = float(fast.api.config.check_event_timeout)
        # channel -> (cursor, deadline), in parking order: with one timeout for all requests
        # that is deadline order, so the timer only ever looks at the first.
        self._parked: "collections.OrderedDict[Channel, Tuple[int, float]]" = collections.OrderedDict()
        self._lock = threading.Lock()
        self._timer_cv = threading.Condition(self._lock)
        self._wake_pending = False
        self._expire_pending = False
        self._timer_idle = False     # waiting with nothing parked: a new request must wake it
        self._stopping = False
        self._timer = threading.Thread(target=self._run_timer, name=name, daemon=True)
        self._wakeup: Optional[_Wakeup] = None

    # --- life (any thread) ------------------------------------------------------------
    def attach(self, server: Any) -> None:
        """Take over ``server.add_task`` (waitress's hand-over of a complete request to the
        worker pool), add the wake-up pipe to the loop's map and start the timer thread."""
        self._wakeup = _Wakeup(server._map, self._on_wakeup)
        super().attach(server)
        self._buffer.add_listener(self._buffer_changed)
        self._timer.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the timer thread and stop listening; idempotent. The server answers what is
        still parked before it closes the connections (:meth:`answer_all`)."""
        self._buffer.remove_listener(self._buffer_changed)
        with self._lock:
            self._stopping = True
            self._parked.clear()
            self._timer_cv.notify_all()
        if self._timer.is_alive() and self._timer is not threading.current_thread():
            self._timer.join(timeout)
        if self._wakeup is not None:
            # The loop normally closed it with every other channel; after the loop has ended
            # this frees the pipe (closing twice is a no-op).
            self._wakeup.close()

    @property
    def parked(self) -> int:
        with self._lock:
            return len(self._parked)

    # --- the loop thread --------------------------------------------------------------
    def take(self, channel: Channel, judged: "Tuple[int, Optional[list]]") -> None:
        since, ready = judged
        if ready is not None:
            self._answer_now(channel, ready)
            return
        with self._lock:
            self._parked[channel] = (since, time.monotonic() + self._timeout)
            # Otherwise the timer already waits for an earlier deadline than this one (at worst
            # for one answered since, and then it looks again): a consumer re-polling after
            # every event must not cost a timer wake-up each time.
            if self._timer_idle:
                self._timer_cv.notify_all()

    def judge(self, channel: Channel) -> "Optional[Tuple[int, Optional[list]]]":
        """``(cursor, None)`` for a request that may wait parked, ``(cursor, items)`` for one
        the loop answers at once, else None (a worker's)."""
        requests = channel.requests
        if len(requests) != 1:
            return None
        request = requests[0]
        if request.path != CHECK_EVENT or not plain_keep_alive_get(request):
            return None
        environ = environ_of(request)
        params = self._fast.check_event_params(environ)
        if not params or not params.get("since"):
            return None
        # Fixed now, as a waiting worker fixes it: a cursor from before a restart reads from
        # 0 and must not become valid again as new events raise the count past it.
        cursor, ready, closed = self._buffer.cursor(int(params["since"]))
        if closed:
            return None        # the worker path's answer for a closed buffer
        if not ready:
            return cursor, None
        # A consumer keeping up comes back to a few new items: answered here, without the hop
        # to a worker and back. A long backlog (since=0 on a full buffer) is a worker's to
        # encode; so is a request not handed over by HTTPChannel.received (see _answer_now).
        if len(ready) > READY_MAX or not channel.requests_lock.locked():
            return None
        return cursor, ready

    def _answer_now(self, channel: Channel, items: list) -> None:
        self.end_in_received(channel, _response(items))

    def _buffer_changed(self) -> None:
        # On the appending thread: tell the loop, once per batch of appends.
        with self._lock:
            if self._wake_pending or self._wakeup is None:
                return
            self._wake_pending = True
        self._wakeup.pull()

    def _on_wakeup(self) -> None:
        with self._lock:
            wake, expire = self._wake_pending, self._expire_pending
        if wake:
            self._answer_ready()
        if expire:
            self._expire()

    def _answer_ready(self) -> None:
        with self._lock:
            self._wake_pending = False
            parked = [(channel, since) for channel, (since, _) in self._parked.items()]
        self._answer_each(parked, only_news=not self._buffer.closed)

    def answer_all(self) -> None:
        """Answer every parked request with what it has now (``[]`` mostly); on the loop
        thread, just before the server closes its connections, so callers hear an answer
        rather than a dropped connection."""
        with self._lock:
            parked = [(channel, since) for channel, (since, _) in self._parked.items()]
        self._answer_each(parked, only_news=False)

    def _expire(self) -> None:
        now = time.monotonic()
        with self._lock:
            self._expire_pending = False
            due = []
            for channel, (since, deadline) in self._parked.items():
                if deadline > now:
                    break
                due.append((channel, since))
            self._timer_cv.notify_all()
        self._answer_each(due, only_news=False)

    def _answer_each(self, parked: List[Tuple[Channel, int]], *, only_news: bool) -> None:
        """Answer each ``(channel, cursor)``, encoding once per cursor; with ``only_news``
        a cursor with nothing after it stays parked."""
        responses: Dict[int, Optional[bytes]] = {}
        for channel, since in parked:
            if since not in responses:
                items = self._buffer.since(since, 0)
                responses[since] = _response(items) if items or not only_news else None
            response = responses[since]
            if response is not None:
                self._answer_safely(channel, response)

    def _answer_safely(self, channel: Channel, response: bytes) -> None:
        # One broken connection must not keep the rest of a pass unanswered.
        try:
            self._answer(channel, response)
        except Exception:
            log.exception("parked polls: answering a request failed")

    def _answer(self, channel: Channel, response: bytes) -> None:
        """Write ``response`` and end the request the way waitress's ``HTTPChannel.service``
        does; a request that cannot be ended so ends with its connection, never hangs."""
        with self._lock:
            if self._parked.pop(channel, None) is None:
                return      # answered already (an event and the timeout in one loop turn)
        try:
            if not channel.connected:
                raise ConnectionError
            queue_on_loop(channel, response)
            self._end_request(channel)
        except Exception as e:   # waitress's ClientDisconnected, the socket gone, or worse
            if channel.connected and not isinstance(e, ConnectionError):
                log.exception("parked polls: ending a request failed; closing its connection")
            with channel.requests_lock:
                channel.close_when_flushed = True
                for r in channel.requests:
                    r.close()
                channel.requests = []

    def _end_request(self, channel: Channel) -> None:
        channel.requests[0].close()
        with channel.requests_lock:
            channel.requests.pop(0)
            if channel.connected and channel.requests:
                self._dispatch(channel)
            elif (channel.connected and channel.request is not None
                  and channel.request.expect_continue and channel.request.headers_finished
                  and not channel.sent_continue):
                # A request read behind this one waits for its 100 Continue (waitress sends
                # it at the end of service for the same reason).
                channel.send_continue()
        channel.last_activity = time.time()

    # --- the timer thread -------------------------------------------------------------
    def _run_timer(self) -> None:
        # Without this thread parked requests would never time out: it logs and carries on.
        while not self._stopping:
            try:
                self._timer_step()
            except Exception:
                log.exception("parked polls: timer step failed")
                time.sleep(0.1)

    def _timer_step(self) -> None:
        while True:
            with self._lock:
                if self._stopping:
                    return
                if self._expire_pending or not self._parked:
                    self._timer_idle = not self._expire_pending
                    self._timer_cv.wait()
                    self._timer_idle = False
                    continue
                delay = next(iter(self._parked.values()))[1] - time.monotonic()
                if delay > 0:
                    self._timer_cv.wait(delay)
                    continue
                self._expire_pending = True
            if self._wakeup is not None:
                self._wakeup.pull()


def _response(items: list) -> bytes:
    return ok_answer(dumps(items).encode("utf-8"))


class _Wakeup(_waitress_pipe):
    """A pipe in the loop's map whose reading end calls ``on_wakeup`` on the loop thread.

    ``pull`` takes no lock the loop holds, never blocks (a full pipe already means a wake-up
    is due), and never writes once the pipe is closed: closing and pulling share a lock, so a
    late pull cannot hit a reused descriptor.
    """

    def __init__(self, map: Dict[int, Any], on_wakeup: Callable[[], None]) -> None:
        super().__init__(map)
        os.set_blocking(self.trigger, False)
        self._on_wakeup = on_wakeup
        self._guard = threading.Lock()

    def pull(self) -> None:
        with self._guard:
            if self._closed:
                return
            try:
                os.write(self.trigger, b"x")
            except BlockingIOError:
                pass

    def handle_read(self) -> None:
        try:
            self.recv(8192)
        except OSError:
            return
        try:
            self._on_wakeup()
        except Exception:   # escaping, it would make the loop close this pipe for good
            log.exception("parked polls: wake-up failed")

    def _close(self) -> None:
        with self._guard:
            super()._close()
