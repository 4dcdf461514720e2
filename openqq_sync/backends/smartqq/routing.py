"""The transport adapter that sends ``*.qq.com`` to a configured server (house style R2).

Protocol code always builds the real URLs. When a server address is configured (the
sandbox), :class:`RoutingAdapter` rewrites only the *connection target* of each request
for a ``qq.com`` host: the path and query stay, the ``Host`` header keeps the real host,
and the response is handed back with the real request and URL attached. So the Session
chooses cookies by the real URL before the adapter runs, stores cookies a response sets
under the real domain (requests extracts them with the request the Session sent, which
the adapter never mutates), and resolves relative redirects against the real URL.

The adapter also remembers the connections it opened, so another thread can cut a held
request (``abort``): that is how ``stop()`` ends a long poll2 at once.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import weakref
from typing import Any, Callable, Dict, Optional, Tuple
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

from ...errors import AbortedError

log = logging.getLogger(__name__)

__all__ = ["RoutingAdapter", "is_qq_host"]


def is_qq_host(host: Optional[str]) -> bool:
    host = (host or "").lower().rstrip(".")
    return host == "qq.com" or host.endswith(".qq.com")


def _tracking_classes(track: Callable[[Any], None]) -> Dict[str, type]:
    # urllib3 opens sockets deep inside urlopen(); the only hook that sees each one is the
    # connection class (a pool's documented ``ConnectionCls``), so every adapter's pools
    # get connection classes that report to it.
    class _Conn(HTTPConnection):
        def connect(self) -> None:
            super().connect()
            track(self)

    class _SConn(HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            track(self)

    return {"http": _Conn, "https": _SConn}


class RoutingAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that routes ``*.qq.com`` to ``server`` and can be aborted.

    :param server: ``scheme://host:port`` of the stand-in service, or ``None`` to talk to
        the real hosts.

    One adapter belongs to one Session (one thread); only :meth:`abort` may be called from
    another thread.
    """

    def __init__(self, server: Optional[str] = None, **kwargs: Any) -> None:
        self._target: Optional[Tuple[str, str]] = None
        if server:
            parts = urlsplit(server)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError("server must look like http://host:port, got %r" % (server,))
            self._target = (parts.scheme, parts.netloc)
        self._conn_lock = threading.Lock()
        self._conns: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self.aborted = False
        self._classes = _tracking_classes(self._track)
        super().__init__(**kwargs)

    def get_connection_with_tls_context(self, request: requests.PreparedRequest, verify: Any,
                                        proxies: Any = None, cert: Any = None) -> Any:
        pool = super().get_connection_with_tls_context(request, verify, proxies=proxies, cert=cert)
        # Set before the pool's first connection is made (the pool is ours: one adapter per
        # Session), so every socket it opens is tracked for abort().
        pool.ConnectionCls = self._classes[pool.scheme]
        return pool

    def _track(self, conn: Any) -> None:
        with self._conn_lock:
            self._conns.add(conn)
        if self.aborted:
            # abort() ran while this connection was being opened: cut it too.
            self._shutdown(conn)

    def route(self, url: str) -> Optional[Tuple[str, str]]:
        """``(routed_url, host_header)`` for a URL that goes to the server, else ``None``."""
        if self._target is None:
            return None
        parts = urlsplit(url)
        if not is_qq_host(parts.hostname):
            return None
        routed = urlunsplit((self._target[0], self._target[1], parts.path or "/", parts.query, ""))
        return routed, parts.netloc

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        if self.aborted:
            raise AbortedError(url=request.url)
        routing = self.route(request.url or "")
        if routing is None:
            return super().send(request, stream=stream, timeout=timeout, verify=verify,
                                cert=cert, proxies=proxies)
        # A copy goes on the wire; the Session keeps the real request for its cookie jar.
        # Shallow: PreparedRequest.copy() also copies the cookie jar, which the wire copy
        # never reads (its Cookie header is built); only url and headers change here.
        wire = copy.copy(request)
        wire.headers = request.headers.copy()
        wire.url, host = routing
        wire.headers["Host"] = host
        # Environment proxies were chosen for the real host; the sandbox is reached directly.
        resp = super().send(wire, stream=stream, timeout=timeout, verify=verify, cert=cert,
                            proxies={})
        resp.request = request
        resp.url = request.url or ""
        return resp

    @staticmethod
    def _shutdown(conn: Any) -> None:
        sock = getattr(conn, "sock", None)
        if sock is None:
            return
        try:
            # Plain socket shutdown even for TLS sockets: wakes a blocked recv in the
            # owning thread without touching the SSL object it is using.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        except OSError:
            pass

    def close(self) -> None:
        """Close the pools and every connection this adapter ever opened.

        urllib3 closes only the connections sitting in a pool's queue; one that went astray
        (seen after a non-2xx answer) would keep its keep-alive socket open until garbage
        collection, and a server shutting down would wait for it.
        """
        super().close()
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass

    def abort(self) -> None:
        """Cut every connection of this adapter and refuse new requests. Thread-safe."""
        self.aborted = True
        with self._conn_lock:
            conns = list(self._conns)
        for conn in conns:
            self._shutdown(conn)
