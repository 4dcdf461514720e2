"""Cached read answers written by waitress's loop thread itself, without a worker.

Once :class:`~._fastpath.FastReads` holds a read route's answer as bytes, answering costs a
few microseconds; handing the request to a worker thread and back cost most of a request's
~300 µs: the pool's condition, a thread switch and the GIL handed over, a full WSGI environ,
the trigger pipe to wake the loop and another turn of its select. The loop thread that has
just parsed such a request now looks the answer up and writes it to the connection at once.

Only what FastReads would answer from its cache is answered here (same rules: token,
parameters, ``running``, the contacts' current version), and only as a plain kept-alive
HTTP/1.1 GET (:func:`._wire.plain_keep_alive_get`); a cache miss and everything else go to a
worker unchanged. The bytes are the ones a worker writes (tests compare them). Answers over
:data:`INLINE_MAX`, or that would pile a connection's unsent output past it, go to a worker
too: the loop thread must never wait for a slow reader, and a worker's write does.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Optional

from ._fastpath import KEYS, FastReads
from ._wire import environ_of, ok_answer, plain_keep_alive_get

log = logging.getLogger(__name__)

Channel = Any   # waitress.channel.HTTPChannel

#: Largest unsent output (this answer included) a connection may hold for the loop thread to
#: answer; far below waitress's outbuf_high_watermark (16 MB), where a write would wait.
INLINE_MAX = 1 << 20


class InlineReads:
    """Takes over ``server.add_task`` for the loop thread's cached reads. ``attach`` after any
    other wrapper of ``add_task``: what this does not answer goes on to that one."""

    def __init__(self, fast: FastReads) -> None:
        self._fast = fast
        self._dispatch: Optional[Callable[[Channel], None]] = None
        self._loop_ident: Optional[int] = None
        self.answered = 0    # requests answered on the loop thread (tests, diagnostics)

    def attach(self, server: Any) -> None:
        self._dispatch = server.add_task
        server.add_task = self._add_task

    def loop_started(self) -> None:
        """Called on the loop thread before it serves."""
        self._loop_ident = threading.get_ident()

    def _add_task(self, channel: Channel) -> None:
        try:
            answer = self._answer_for(channel)
        except Exception:   # whatever went wrong, a worker can still answer the request
            log.exception("inline reads: cannot judge a request; a worker takes it")
            answer = None
        if answer is None:
            self._dispatch(channel)
            return
        self._write(channel, answer)

    def _answer_for(self, channel: Channel) -> Optional[bytes]:
        # On the loop thread add_task is called from HTTPChannel.received, which holds the
        # channel's requests_lock (a plain Lock): _write relies on that.
        if threading.get_ident() != self._loop_ident or not channel.requests_lock.locked():
            return None
        requests = channel.requests
        if len(requests) != 1 or not channel.connected:
            return None
        request = requests[0]
        key_of = KEYS.get(request.path)
        if key_of is None or not plain_keep_alive_get(request):
            return None
        body = self._fast.cached_body(environ_of(request), key_of)
        if body is None:
            return None
        answer = ok_answer(body)
        return answer if channel.total_outbufs_len + len(answer) <= INLINE_MAX else None

    def _write(self, channel: Channel, answer: bytes) -> None:
        """Queue the answer and end the request as ``HTTPChannel.service`` does; the loop
        sends it on its next turn (or now, for a large one: ``write_soon`` flushes then)."""
        self.answered += 1       # first: a large answer may reach the client inside write_soon
        channel.write_soon(answer)
        if channel.current_outbuf_count > 0:
            # As waitress does: the next answer on this connection starts a fresh buffer.
            channel.current_outbuf_count = channel.adj.outbuf_high_watermark
        request = channel.requests.pop(0)
        request.close()
        channel.last_activity = time.time()
