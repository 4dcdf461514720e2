"""Serving the API with waitress: in the main thread (``openqq run``) or a thread (tests, demo).

The thread pool is sized by ``config.threads`` (default 160). A held plain check_event
long-poll occupies one thread, so the pool must exceed the waiters allowed
(:func:`~openqq_sync.delivery.hub.max_waiters_for`) with room for every other call; held
``check_event?since=`` requests of our own app wait parked on the loop thread instead
(:mod:`._parking`) and take no worker, and its cached reads are answered by the loop thread
at once (:mod:`._inline`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Optional, Tuple

from waitress import create_server
from waitress import wasyncore

from ._dispatch import HotThreadDispatcher
from ._fastpath import FastReads
from ._inline import InlineReads
from ._parking import ParkedPolls
from ._wire import SERVER_IDENT

log = logging.getLogger(__name__)


class ApiServer:
    """A waitress server bound at construction (so the port is known at once).

    ``serve_forever()`` runs the loop on the calling thread; ``start()`` runs it on a named
    thread; ``close()`` (any thread; see its note on signal handlers) makes the loop close every
    connection and end; ``stop()`` also waits for that.

    :raises OSError: the address cannot be bound.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 5000, threads: int = 160,
                 name: str = "openqq-http") -> None:
        self.name = name
        # Our own dispatcher: waitress starts its worker threads before it binds, and a
        # failed bind would leave them running for the life of the process.
        dispatcher = HotThreadDispatcher()
        dispatcher.set_thread_count(max(4, threads))
        try:
            self._server = create_server(
                app, host=host, port=port, threads=max(4, threads), ident=SERVER_IDENT,
                expose_tracebacks=False, channel_timeout=180, connection_limit=max(100, threads * 4),
                # Bodies over 1 MB are refused by Flask with a JSON 413; let them reach it.
                max_request_body_size=8 * 1024 * 1024, clear_untrusted_proxy_headers=True,
                _dispatcher=dispatcher)
        except BaseException:
            dispatcher.shutdown(cancel_pending=True, timeout=5)
            raise
        # Our own app (create_app) gets its cursor long-polls parked off the worker pool and
        # its cached reads answered on the loop thread; inline goes on last, so it looks first.
        fast = getattr(app, "wsgi_app", None)
        self._parking: Optional[ParkedPolls] = None
        self._inline: Optional[InlineReads] = None
        if isinstance(fast, FastReads):
            if getattr(fast.api, "delivery", None) is not None:
                self._parking = ParkedPolls(fast, name=f"{name}-parking")
                self._parking.attach(self._server)
            self._inline = InlineReads(fast)
            self._inline.attach(self._server)
        self._thread: Optional[threading.Thread] = None
        self._stopped = threading.Event()
        self._done = threading.Event()
        self._serving = False

    @property
    def address(self) -> Tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return str(host), int(port)

    @property
    def parked_polls(self) -> int:
        """check_event?since= requests waiting parked (they hold no worker thread)."""
        return self._parking.parked if self._parking is not None else 0

    @property
    def inline_answers(self) -> int:
        """Cached reads answered by the loop thread without a worker so far."""
        return self._inline.answered if self._inline is not None else 0

    @property
    def port(self) -> int:
        return self.address[1]

    @property
    def url(self) -> str:
        host, port = self.address
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Run until :meth:`stop` (or KeyboardInterrupt/SystemExit in the main thread)."""
        self._serving = True
        for loop_side in (self._parking, self._inline):
            if loop_side is not None:
                loop_side.loop_started()
        try:
            self._server.run()
        finally:
            if self._parking is not None:
                self._parking.stop()
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=5)
            self._done.set()

    def start(self) -> "ApiServer":
        self._serving = True
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Ask the serving loop to close everything and return; does not wait. Safe from any
        thread, but not from a signal handler that runs on the serving thread: the loop may
        hold the trigger's lock there (``openqq run`` stops from a thread of its own).
        Idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        # Closing must happen on the loop's own thread: hand it over through the trigger.
        parking = self._parking

        def close_all() -> None:
            if parking is not None:
                parking.answer_all()
            wasyncore.close_all(self._server._map)
        try:
            self._server.trigger.pull_trigger(close_all)
        except OSError:  # the loop already closed the trigger
            pass

    def stop(self, timeout: float = 10.0) -> None:
        """:meth:`close`, then wait for the serving loop to end. Idempotent; not from a
        signal handler on the serving thread."""
        if not self._serving:
            # Never served (e.g. the client failed to start): just release the socket.
            if not self._stopped.is_set():
                self._stopped.set()
                wasyncore.close_all(self._server._map)
                self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
                if self._parking is not None:
                    self._parking.stop()
            return
        self.close()
        self._join(timeout)

    def _join(self, timeout: float) -> None:
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                log.warning("%s still running after stop", self.name)
        elif thread is None:
            self._done.wait(timeout)
