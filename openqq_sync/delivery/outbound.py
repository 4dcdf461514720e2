"""One kept-alive outbound HTTP(S) connection, for post_api and the poll_api heartbeat.

Built on ``http.client``, with what talking to someone else's server needs: an answer is
read within one overall deadline (not per ``recv``, so a dripped body cannot hold a worker)
and up to a size cap (a huge ``Content-Length`` or an endless chunked body is refused, not
collected), another thread can abort a request (``stop()`` must not wait for a held GET),
and errors tell whether the request ever reached the server, which decides if resending it
is safe. HTTPS verifies certificates with the default trust store (``SSL_CERT_FILE`` honoured).
"""

from __future__ import annotations

import http.client
import select
import selectors
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, TypeVar

DEFAULT_MAX_ANSWER = 1 << 20
READ_SIZE = 65536
_T = TypeVar("_T")


class NotSent(Exception):
    """The request never reached the server (refused, unresolved, reset while being written):
    sending it again cannot duplicate it."""


class BadAnswer(Exception):
    """The request was sent, but no usable answer came: none before the deadline, too large,
    malformed, or the connection ended. The server may have acted on the request."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Dict[str, str]          # lower-case names; the first value of a repeated header
    body: bytes


if TYPE_CHECKING:
    _SocketBase = socket.socket  # what the mixin below is mixed into
else:
    _SocketBase = object


class _Deadline(_SocketBase):
    """Socket mixin: every read gives up at ``deadline`` (a ``time.monotonic()`` value), so
    the whole answer, headers and body, has one time limit however it trickles in; and
    ``on_late`` is called once if no answer has come by ``late_at`` (reading goes on). Both
    ride on the socket timeout the read sets anyway: no extra system call per answer."""

    deadline: Optional[float] = None
    late_at: float = 0.0
    on_late: Optional[Callable[[], None]] = None

    def _arm(self) -> None:
        if self.deadline is None:
            return
        now = time.monotonic()
        left = self.deadline - now
        if left <= 0:
            raise TimeoutError("answer deadline passed")
        if self.on_late is not None:
            if self.late_at <= now:
                self._late()
            else:
                left = min(left, self.late_at - now)
        current = self.gettimeout()
        # Each settimeout() is a system call: keep a timeout up to 5 % too long.
        if current is None or not left <= current <= left * 1.05:
            self.settimeout(left)

    def _late(self) -> None:
        on_late, self.on_late = self.on_late, None
        if on_late is not None:
            on_late()

    def _read(self, read: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        # A timeout that only marks the late point is not the deadline: read on.
        while True:
            self._arm()
            try:
                return read(*args, **kwargs)
            except TimeoutError:
                if self.on_late is None:
                    raise
                self._late()

    def recv_into(self, *args: Any, **kwargs: Any) -> int:
        return self._read(super().recv_into, *args, **kwargs)

    def recv(self, *args: Any, **kwargs: Any) -> bytes:
        return self._read(super().recv, *args, **kwargs)


class _Socket(_Deadline, socket.socket):
    pass


class _SSLSocket(_Deadline, ssl.SSLSocket):
    pass


class _HTTPConnection(http.client.HTTPConnection):
    """``http.client`` connection whose socket honours an answer deadline."""

    def __init__(self, host: str, port: int, timeout: float, context: Optional[ssl.SSLContext]) -> None:
        super().__init__(host, port, timeout=timeout)
        self.context = context

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        sock: socket.socket = _Socket(raw.family, raw.type, raw.proto, fileno=raw.detach())
        try:
            sock.settimeout(self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.context is not None:
                sock = self.context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Connection:
    """One connection to ``scheme://host:port``, reopened as needed. One thread sends and
    reads; any thread may call :meth:`abort`, after which every request raises ``NotSent``.

    :param timeout: seconds to connect and to write a request.
    :param max_answer: bytes of answer body read at most; a longer answer is a ``BadAnswer``.
    """

    def __init__(self, scheme: str, host: str, port: Optional[int], *, timeout: float = 5.0,
                 max_answer: int = DEFAULT_MAX_ANSWER) -> None:
        https = scheme == "https"
        context = None
        if https:
            context = ssl.create_default_context()
            context.sslsocket_class = _SSLSocket
        self._conn = _HTTPConnection(host, port or (443 if https else 80), timeout, context)
        self.max_answer = max_answer
        self._lock = threading.Lock()
        self._aborted = False
        self._sock: Optional[socket.socket] = None      # kept: a closing answer owns it alone

    @classmethod
    def for_url(cls, url: str, *, timeout: float = 5.0, max_answer: int = DEFAULT_MAX_ANSWER) -> "Connection":
        parts = urllib.parse.urlsplit(url)
        return cls(parts.scheme, parts.hostname or "", parts.port, timeout=timeout, max_answer=max_answer)

    # --- one request -----------------------------------------------------------------
    def send(self, method: str, path: str, body: Optional[bytes] = None,
             headers: Mapping[str, str] = {}) -> None:
        """Write one request. :raises NotSent: it did not reach the server."""
        conn = self._conn
        if conn.sock is not None:
            if _readable(conn.sock, 0):
                conn.close()    # the server closed the idle connection (or sent junk): a fresh one
            elif conn.sock.gettimeout() != conn.timeout:
                conn.sock.settimeout(conn.timeout)      # the last answer's read left a shorter one
        try:
            if conn.sock is None:
                conn.connect()
                with self._lock:
                    self._sock = conn.sock
                    if self._aborted:
                        conn.close()
            if self._aborted:
                raise NotSent("aborted")
            conn.request(method, path, body=body, headers=dict(headers))
        except NotSent:
            raise
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise NotSent(f"{type(e).__name__}: {e}") from e

    def answer(self, deadline: float, *, late: float = 0.0,
               on_late: Optional[Callable[[], None]] = None) -> Answer:
        """Read the answer to the request just sent, within ``deadline`` seconds in all;
        ``on_late()`` is called (on this thread) if none has started after ``late`` seconds.

        :raises BadAnswer: the connection is closed and the reason given.
        """
        conn = self._conn
        sock = conn.sock
        if isinstance(sock, _Deadline):
            now = time.monotonic()
            sock.deadline, sock.late_at, sock.on_late = now + deadline, now + late, on_late
        resp = None
        try:
            resp = conn.getresponse()
            if isinstance(sock, _Deadline):
                sock.on_late = None             # the answer has begun
            headers: Dict[str, str] = {}
            for name, value in resp.getheaders():
                headers.setdefault(name.lower(), value)
            length = headers.get("content-length", "")
            if length.strip().isdigit() and int(length) > self.max_answer:
                raise BadAnswer(f"answer of {int(length)} bytes, over the {self.max_answer} byte cap")
            chunks, size = [], 0
            while True:
                piece = resp.read(min(READ_SIZE, self.max_answer + 1 - size))
                if not piece:
                    break
                size += len(piece)
                if size > self.max_answer:
                    raise BadAnswer(f"answer over the {self.max_answer} byte cap")
                chunks.append(piece)
            return Answer(resp.status, headers, b"".join(chunks))
        except BadAnswer:
            _close(conn, resp)
            raise
        except (OSError, http.client.HTTPException, ValueError) as e:
            _close(conn, resp)
            if isinstance(e, TimeoutError):
                raise BadAnswer(f"no complete answer within {deadline:g} s") from e
            raise BadAnswer(f"{type(e).__name__}: {e}"[:200]) from e
        finally:
            if isinstance(sock, _Deadline):
                sock.deadline, sock.on_late = None, None

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Mapping[str, str] = {}, *, deadline: float = 5.0) -> Answer:
        self.send(method, path, body, headers)
        return self.answer(deadline)

    # --- lifecycle -------------------------------------------------------------------
    def abort(self) -> None:
        """End a request in progress on another thread at once; refuse later ones. Thread-safe."""
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self._conn.close()


def _close(conn: http.client.HTTPConnection, resp: Optional[http.client.HTTPResponse]) -> None:
    conn.close()
    if resp is not None:
        resp.close()        # a closing answer holds the socket after the connection let it go


def _readable(sock: socket.socket, seconds: float) -> bool:
    if hasattr(select, "poll"):         # one system call, no selector to build per report
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(seconds * 1000))
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ)
        return bool(sel.select(seconds))
