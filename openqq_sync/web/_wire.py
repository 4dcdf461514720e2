"""What our loop-thread code (:mod:`._inline`, :mod:`._parking`) reads from a waitress request
and writes back: the few environ keys :class:`~._fastpath.FastReads` looks at, a 200 answer
with the very bytes waitress writes when a worker returns the same body, and the way to
queue it from the loop thread.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Dict, Generic, List, Optional, Tuple, TypeVar

from waitress.buffers import OverflowableBuffer
from waitress.utilities import build_http_date

from ._http import JSON_TYPE

log = logging.getLogger(__name__)

Channel = Any   # waitress.channel.HTTPChannel
Judged = TypeVar("Judged")

#: waitress's ``ident``, which ApiServer sets; waitress writes it as the Server header.
SERVER_IDENT = "openqq-sync"

_date: Tuple[int, str] = (0, "")

#: Answers up to this size are offered to an idle socket in one send (see queue_on_loop).
DIRECT_MAX = 64 * 1024


def environ_of(request: Any) -> Dict[str, Any]:
    """The keys of a WSGI environ that FastReads' token and parameter rules read, taken from
    a parsed waitress request (``HTTP_*`` header names as waitress spells them)."""
    headers = request.headers
    return {"QUERY_STRING": request.query, "CONTENT_LENGTH": str(request.content_length or ""),
            "HTTP_AUTHORIZATION": headers.get("AUTHORIZATION", ""),
            "HTTP_X_AUTH_TOKEN": headers.get("X_AUTH_TOKEN")}


def plain_keep_alive_get(request: Any) -> bool:
    """A GET without body, error or 100-continue, on an HTTP/1.1 connection kept open: the
    one case whose answer needs no Connection header and no closing."""
    return (request.command == "GET" and request.version == "1.1" and not request.error
            and not request.chunked and not request.expect_continue and not request.content_length
            and request.headers.get("CONNECTION", "").lower() in ("", "keep-alive"))


def ok_head(length: int) -> bytes:
    """The head waitress writes for FastReads' 200 with a body of ``length`` bytes: headers
    sorted, with Date and Server."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        # One formatting per second; the tuple is swapped whole, so readers never see a mix.
        _date = (now, build_http_date(now))
    return (f"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {length}\r\n"
            f"Content-Type: {JSON_TYPE}\r\nDate: {_date[1]}\r\nServer: {SERVER_IDENT}\r\n\r\n").encode("latin-1")


def ok_answer(body: bytes) -> bytes:
    """The whole HTTP answer (:func:`ok_head` and the body)."""
    return ok_head(len(body)) + body


def queue_on_loop(channel: Any, *parts: bytes) -> None:
    """Queue ``parts`` as the next output of ``channel`` and send what the socket takes now.
    On the loop thread only, where ``write_soon`` must not be used: when an answer does not fit
    in the socket it pulls waitress's wake-up pipe, a blocking write that only this thread
    empties, so under load from workers the loop could wait on itself for good. What is left
    goes out on the loop's later turns, as for a worker's answer.

    The bytes are queued, not copied: past 1 MB a worker's copy spills to a temporary file.
    A small answer on a connection with nothing else to send goes straight to the socket,
    which takes it whole unless the reader lags: one event answers hundreds of parked
    requests in one pass of the loop, and the buffers cost more than the send.
    """
    size = sum(len(p) for p in parts)
    with channel.outbuf_lock:
        if not channel.total_outbufs_len and size <= DIRECT_MAX:
            data = parts[0] if len(parts) == 1 else b"".join(parts)
            try:
                sent = channel.send(data, do_close=False)
            except OSError:    # the flush below meets it again and closes the connection
                sent = 0
            if sent == size:
                return
            parts, size = (memoryview(data)[sent:],), size - sent
        channel.outbufs.append(_Parts(parts))
        # waitress keeps a writable buffer last; a fresh one, as each request gets.
        channel.outbufs.append(OverflowableBuffer(channel.adj.outbuf_overflow))
        channel.current_outbuf_count = 0
        channel.total_outbufs_len += size
        channel._flush_exception(channel._flush_some, do_close=False)


class _Parts:
    """An outbuf over bytes that are shared, not copied: what waitress's channel asks of one
    (``__len__``, ``get``, ``skip``, ``close``)."""

    __slots__ = ("_parts", "_at", "_left")

    def __init__(self, parts: Tuple[bytes, ...]) -> None:
        self._parts: List[memoryview] = [memoryview(p) for p in parts if p]
        self._at = 0                 # offset into the first part
        self._left = sum(len(p) for p in self._parts)

    def __len__(self) -> int:
        return self._left

    def get(self, numbytes: int = -1, skip: bool = False) -> memoryview:
        if not self._parts:
            return memoryview(b"")
        first = self._parts[0]
        end = len(first) if numbytes < 0 else min(len(first), self._at + numbytes)
        chunk = first[self._at:end]
        if skip:
            self.skip(len(chunk))
        return chunk

    def skip(self, numbytes: int, allow_prune: bool = False) -> None:
        self._left -= numbytes
        while numbytes and self._parts:
            first_left = len(self._parts[0]) - self._at
            if numbytes < first_left:
                self._at += numbytes
                return
            numbytes -= first_left
            self._parts.pop(0)
            self._at = 0

    def close(self) -> None:
        self._parts = []
        self._left = 0


class LoopHook(Generic[Judged]):
    """Takes over ``server.add_task``, waitress's hand-over of a complete request to the worker
    pool, so the loop thread can keep a request for itself: :meth:`judge` says whether (and
    with what), :meth:`take` does it; everything else goes on to the previous ``add_task``.
    Workers call ``add_task`` too (for a request pipelined behind theirs): those always go on.
    """

    #: Names the hook in the log.
    what = "loop hook"

    def __init__(self) -> None:
        self._dispatch: Optional[Callable[[Channel], None]] = None
        self._loop_ident: Optional[int] = None

    def attach(self, server: Any) -> None:
        self._dispatch = server.add_task
        server.add_task = self._add_task

    def loop_started(self) -> None:
        """Called on the loop thread before it serves."""
        self._loop_ident = threading.get_ident()

    def on_loop(self) -> bool:
        return threading.get_ident() == self._loop_ident

    def judge(self, channel: Channel) -> Optional[Judged]:
        raise NotImplementedError

    def take(self, channel: Channel, judged: Judged) -> None:
        raise NotImplementedError

    def end_in_received(self, channel: Channel, *parts: bytes) -> None:
        """Answer the channel's one request with ``parts`` (:func:`queue_on_loop`) and end it
        as ``HTTPChannel.service`` does; only from :meth:`take`, inside
        ``HTTPChannel.received``, which holds the channel's requests_lock (a plain Lock), so
        the request is popped here without taking it."""
        queue_on_loop(channel, *parts)
        channel.requests.pop(0).close()
        channel.last_activity = time.time()

    def _add_task(self, channel: Channel) -> None:
        try:
            judged = self.judge(channel) if self.on_loop() else None
        except Exception:   # whatever went wrong, a worker can still answer the request
            log.exception("%s: cannot judge a request; a worker takes it", self.what)
            judged = None
        if judged is None:
            self._dispatch(channel)
        else:
            self.take(channel, judged)
