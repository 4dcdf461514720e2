"""Keep-alive HTTP/1.1 connections from the controller to its clients on loopback.

A connection serves one request at a time: it is taken from the port's idle list (or
opened), used by one thread, and put back once its answer was read to the end; an answer
left half read (the caller went away) closes it. So no connection or session object is
shared between threads while in use (house style T5).
"""

from __future__ import annotations

import http.client
import threading
from typing import Dict, Iterator, List, Optional, Tuple

CONNECT_AND_READ_TIMEOUT = 130.0   # above check_event's wait (30 s) and send_timeout (60 s)
IDLE_PER_PORT = 16
CHUNK = 65536


class Upstream:
    """The idle connections per client port. Thread-safe."""

    def __init__(self, timeout: float = CONNECT_AND_READ_TIMEOUT, idle_per_port: int = IDLE_PER_PORT) -> None:
        self.timeout = timeout
        self.idle_per_port = idle_per_port
        self._lock = threading.Lock()
        self._idle: Dict[int, List[http.client.HTTPConnection]] = {}

    def request(self, port: int, method: str, target: str, body: bytes,
                headers: Dict[str, str]) -> Tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """Send one request to ``127.0.0.1:port``; the connection and its response (headers read).

        A kept-alive connection the client closed meanwhile is retried once on a new one:
        nothing was answered on it, so the request was not handled.

        :raises OSError: or ``http.client.HTTPException``: the client cannot be reached.
        """
        conn = self._take(port)
        if conn is not None:
            try:
                return conn, self._send(conn, method, target, body, headers)
            except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine):
                conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
        try:
            return conn, self._send(conn, method, target, body, headers)
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _send(conn: http.client.HTTPConnection, method: str, target: str, body: bytes,
              headers: Dict[str, str]) -> http.client.HTTPResponse:
        conn.request(method, target, body=body if body or method not in ("GET", "HEAD") else None, headers=headers)
        return conn.getresponse()

    def body(self, port: int, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse) -> "Body":
        """The response body as a WSGI iterable; the connection goes back to the idle list
        once it was read to the end, and is closed otherwise (``close()`` before the end)."""
        return Body(self, port, conn, resp)

    def _take(self, port: int) -> Optional[http.client.HTTPConnection]:
        with self._lock:
            idle = self._idle.get(port)
            return idle.pop() if idle else None

    def _give_back(self, port: int, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(port, [])
            if len(idle) < self.idle_per_port:
                idle.append(conn)
                return
        conn.close()

    def forget(self, port: int) -> None:
        """Close the idle connections to ``port`` (its client stopped or moved)."""
        with self._lock:
            idle = self._idle.pop(port, [])
        for conn in idle:
            conn.close()

    def close(self) -> None:
        with self._lock:
            every = [c for conns in self._idle.values() for c in conns]
            self._idle.clear()
        for conn in every:
            conn.close()


class Body:
    """One answer's body, read in chunks as the server sends it on. Used by one thread."""

    def __init__(self, upstream: Upstream, port: int, conn: http.client.HTTPConnection,
                 resp: http.client.HTTPResponse) -> None:
        self._upstream = upstream
        self._port = port
        self._conn: Optional[http.client.HTTPConnection] = conn
        self._resp = resp
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        while self._conn is not None:
            chunk = self._resp.read(CHUNK)
            if not chunk:
                self._done = True
                return
            yield chunk

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if self._done and not self._resp.will_close:
            self._upstream._give_back(self._port, conn)
        else:
            conn.close()
