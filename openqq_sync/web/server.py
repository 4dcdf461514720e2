"""Serving the API with waitress: in the main thread (``openqq run``) or a thread (tests, demo).

Each held ``check_event`` holds a worker thread (house style W3), so the pool
(``config.threads``) is sized for the waiter cap (``config.max_event_waiters``) plus the
threads every other route needs; past the cap check_event answers at once
(``delivery/event_buffer.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from ..serving import WsgiServer

SERVER_IDENT = "openqq-sync"
#: Descriptors besides the API's connections: log files, SmartQQ and post_api connections, pipes.
SPARE_DESCRIPTORS = 128

log = logging.getLogger(__name__)


def make_room_for(connections: int) -> None:
    """Raise the soft open-file limit (up to the hard one) so ``connections`` fit; a common
    soft limit is 1024, below the default connection limit plus what the client needs."""
    try:
        import resource
    except ImportError:      # not POSIX: nothing to raise
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = connections + SPARE_DESCRIPTORS
    if soft == resource.RLIM_INFINITY or soft >= want:
        return
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    except (ValueError, OSError) as e:
        new = soft
        log.warning("could not raise the open-file limit from %d: %s", soft, e)
    if new < want:
        log.warning("open-file limit %d is below --connection-limit %d + %d: lower "
                    "--connection-limit or raise the limit (ulimit -n, systemd LimitNOFILE=)",
                    new, connections, SPARE_DESCRIPTORS)


class ApiServer(WsgiServer):
    """The API app on waitress, bound at construction (so the port is known at once).

    ``serve_forever()`` runs the loop on the calling thread; ``start()`` runs it on a named
    thread; ``close()`` (any thread but a worker and but a signal handler on the serving
    thread) ends every request and connection and makes the loop return; ``stop()`` also waits
    for that. For :func:`~openqq_sync.web.app.create_app`'s app, stopping also drops a
    ``stop_client``/``relogin`` not yet due.

    :raises OSError: the address cannot be bound.
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 5000, threads: int = 132,
                 name: str = "openqq-http", idle_timeout: float = 30.0,
                 connection_limit: int = 1000) -> None:
        self._api = getattr(app, "extensions", {}).get("openqq_sync")
        # waitress closes a connection with no request running (idle, or a request head or
        # body still incomplete) after channel_timeout, checked every cleanup_interval.
        timeout = max(1, int(round(idle_timeout)))
        connection_limit = max(connection_limit, threads + 8)
        make_room_for(connection_limit)
        super().__init__(
            app, host=host, port=port, name=name, threads=max(4, threads), ident=SERVER_IDENT,
            expose_tracebacks=False, channel_timeout=timeout,
            cleanup_interval=max(1, min(30, timeout // 2)),
            # Every held check_event is a connection; those past the cap are answered at once.
            connection_limit=connection_limit,
            # One request read ahead lets waitress see a caller hang up while its check_event
            # waits (environ["waitress.client_disconnected"]).
            channel_request_lookahead=1,
            # Bodies over 1 MB are refused by Flask with a JSON 413; let them reach it.
            max_request_body_size=8 * 1024 * 1024, clear_untrusted_proxy_headers=True)

    def close(self, timeout: float = 5.0) -> None:
        if self._api is not None:
            self._api.close(timeout)
        super().close(timeout)
