"""Cached read answers written by waitress's loop thread itself, without a worker.

Once :class:`~._fastpath.FastReads` holds a read route's answer as bytes, answering costs a
few microseconds; handing the request to a worker thread and back cost most of a request's
~400 µs of CPU: the pool's condition, a thread switch and the GIL handed over, a full WSGI
environ, the trigger pipe to wake the loop and another turn of its select. The loop thread
that has just parsed such a request now looks the answer up and queues it on the connection
at once.

The cached bytes are queued as they are, not copied: a worker's write copies an answer into
the connection's buffer, and past 1 MB waitress spills that buffer to a temporary file, so a
large world's 21 MB ``get_group_info`` cost a 21 MB file write and read per request. Here
any number of connections send from the one cached object. Nothing here waits: the loop
sends what the socket takes and the rest on later turns, as it does for a worker's answer.

Only what FastReads would answer from its cache is answered here (same rules: token,
parameters, ``running``, the contacts' current version), and only as a plain kept-alive
HTTP/1.1 GET (:func:`._wire.plain_keep_alive_get`); a cache miss and everything else go to a
worker unchanged. The bytes are the ones a worker writes (tests compare them).
"""

from __future__ import annotations

from typing import Optional

from ._fastpath import KEYS, FastReads
from ._wire import Channel, LoopHook, environ_of, ok_head, plain_keep_alive_get

#: Longer query strings go to a worker: parsing one is the loop's time, taken from every
#: other connection (a 250 KB query took 34 ms), and no read route needs more than a uid.
MAX_QUERY = 1024

class InlineReads(LoopHook[bytes]):
    """Takes over ``server.add_task`` for the loop thread's cached reads. ``attach`` after any
    other wrapper of ``add_task``: what this does not answer goes on to that one."""

    what = "inline reads"

    def __init__(self, fast: FastReads) -> None:
        super().__init__()
        self._fast = fast
        self.answered = 0    # requests answered on the loop thread (tests, diagnostics)

    def judge(self, channel: Channel) -> Optional[bytes]:
        """The cached body that answers the channel's one request, else None."""
        # On the loop thread add_task is called from HTTPChannel.received, which holds the
        # channel's requests_lock: end_in_received relies on that.
        if not channel.requests_lock.locked():
            return None
        requests = channel.requests
        if len(requests) != 1 or not channel.connected:
            return None
        request = requests[0]
        key_of = KEYS.get(request.path)
        if key_of is None or len(request.query) > MAX_QUERY or not plain_keep_alive_get(request):
            return None
        return self._fast.cached_body(environ_of(request), key_of)

    def take(self, channel: Channel, body: bytes) -> None:
        self.answered += 1       # first: the answer may reach the client while it is queued
        self.end_in_received(channel, ok_head(len(body)), body)
