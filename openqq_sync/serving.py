"""One way to run waitress and stop it from another thread, for the API and the sandbox.

Only waitress's public surface is used: ``waitress.create_server`` with its documented
adjustments (our own bound socket through ``sockets``, our own ``map``), the server's
``run()`` and ``close()``, its ``task_dispatcher.shutdown()``, which waitress's own
multi-socket ``close()`` calls, and its ``trigger.pull_trigger(thunk)`` to run the close on
the loop thread and wake it (neither is documented, neither has a leading underscore; waitress
is capped below 4 and the server tests fail if either moves). waitress cannot be stopped from another thread by itself
(Pylons/waitress #343): :meth:`WsgiServer.stop` ends the worker threads, closes the listener,
and shuts the open connections down, so that the loop thread sees each one end, closes it and
returns with nothing left to serve.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Dict, Optional, Tuple

import waitress

log = logging.getLogger(__name__)


class QuietLog(logging.Filter):
    """One line per record, at most ``burst`` per ``window`` seconds, for loggers that a
    malformed or hostile request can make speak (waitress's, the API's error log): a
    traceback is cut to its last line, the lines over the budget are counted and the count
    is told with the next line let through.

    :param keep_tracebacks: keep the traceback of the lines let through (our own bugs).
    """

    def __init__(self, *, burst: int = 20, window: float = 60.0, keep_tracebacks: bool = False) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.keep_tracebacks = keep_tracebacks
        self._lock = threading.Lock()
        self._start = float("-inf")
        self._count = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._start >= self.window:
                self._start, self._count = now, 0
            self._count += 1
            if self._count > self.burst:
                self.suppressed += 1
                return False
            told, self.suppressed = self.suppressed, 0
        if record.exc_info and not self.keep_tracebacks:
            error = record.exc_info[1]
            record.msg = "%s (%s: %s)" % (record.getMessage(), type(error).__name__, error)
            record.args = None
            record.exc_info = None
            record.exc_text = None
        if told:
            record.msg = "%s [%d similar line(s) suppressed]" % (record.getMessage(), told)
            record.args = None
        return True


_quiet_lock = threading.Lock()


def quiet_logger(name: str, **options: Any) -> None:
    """Put one :class:`QuietLog` on logger ``name`` (idempotent)."""
    logger = logging.getLogger(name)
    with _quiet_lock:
        if not any(isinstance(f, QuietLog) for f in logger.filters):
            logger.addFilter(QuietLog(**options))


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to ``(host, port)`` (not listening yet): a failed bind raises here,
    before waitress starts any worker thread.

    :raises OSError: the address cannot be bound or resolved.
    """
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


class WsgiServer:
    """A WSGI app served by waitress: bound at construction, served by :meth:`serve_forever`
    (calling thread) or :meth:`start` (a thread named ``name``), ended by :meth:`stop` or
    :meth:`close` from any other thread.

    :param adjustments: waitress adjustments (``threads``, ``connection_limit``, ...).
    :raises OSError: the address cannot be bound.
    """

    def __init__(self, app: Any, *, host: str, port: int, name: str, **adjustments: Any) -> None:
        self.name = name
        # Filters apply to the logger they are on, not its children: both of waitress's.
        for logger_name in ("waitress", "waitress.queue"):
            quiet_logger(logger_name)
        sock = bind(host, port)
        self._map: Dict[int, Any] = {}
        try:
            # poll(), not select(): hundreds of held long-polls pass select()'s fd limit.
            # The loop timeout is whole seconds (waitress parses it as an int: 0.1 made it 0,
            # a busy loop); close() wakes the loop through the server's trigger instead.
            # types-waitress declares create_server only in waitress.server, which waitress re-exports.
            self._server = waitress.create_server(app, map=self._map, sockets=[sock],  # type: ignore[attr-defined]
                                                  asyncore_use_poll=True, asyncore_loop_timeout=1,
                                                  **adjustments)
        except BaseException:
            sock.close()
            raise
        self.address: Tuple[str, int] = sock.getsockname()[:2]
        self._lock = threading.Lock()
        self._closed = False
        self._serving = False
        self._thread: Optional[threading.Thread] = None
        self._done = threading.Event()

    @property
    def port(self) -> int:
        return int(self.address[1])

    @property
    def url(self) -> str:
        host, port = self.address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve on the calling thread until :meth:`close` (or KeyboardInterrupt/SystemExit)."""
        with self._lock:
            self._serving = True
        try:
            self._server.run()
        except Exception:
            log.exception("%s: server loop crashed", self.name)
        finally:
            self._done.set()

    def start(self) -> "WsgiServer":
        """Serve on a thread of its own; returns at once (the socket already listens)."""
        with self._lock:
            self._serving = True
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """End the workers (``timeout`` for the requests they run), the listener and every
        open connection; the serving loop then returns. Any thread but a worker of this
        server and but a signal handler on the serving thread. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            serving = self._serving and not self._done.is_set()
        # Workers first: one finishing later would wake the loop through the trigger close() shuts.
        self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        if serving:
            # The listener and the trigger are closed on the loop thread, which this also wakes.
            try:
                self._server.trigger.pull_trigger(self._server.close)
            except OSError:   # the loop already closed the trigger: it is ending
                pass
        else:
            self._server.close()
        self._shut_connections()

    def _shut_connections(self) -> None:
        for dispatcher in list(self._map.values()):
            if getattr(dispatcher, "accepting", False):
                continue      # the listener: closed on the loop thread
            # shutdown, not close: the loop thread owns the sockets and closes each on its end.
            sock = getattr(dispatcher, "socket", None)
            if isinstance(sock, socket.socket):   # not the trigger's pipe
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:   # already closed or never connected
                    pass

    def stop(self, timeout: float = 10.0) -> None:
        """:meth:`close`, then wait for the serving loop to end. Idempotent."""
        self.close(min(timeout, 5.0))
        with self._lock:
            serving = self._serving
        if not serving:
            return
        thread = self._thread
        if thread is threading.current_thread():
            return
        deadline = time.monotonic() + timeout
        while not self._done.wait(0.1):
            if time.monotonic() >= deadline:
                log.warning("%s still running after stop", self.name)
                return
            # A request the loop read while close() ran is queued for workers that are gone:
            # cancelling it marks its connection to close; a connection accepted meanwhile
            # is shut like the others, so the loop can end.
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=0)
            self._shut_connections()
        if thread is not None:
            thread.join(timeout)
