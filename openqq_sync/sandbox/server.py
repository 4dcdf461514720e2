"""SandboxServer: a ``SandboxWorld`` served over loopback HTTP by waitress in its own thread.

::

    srv = SandboxServer(world="small", seed=1, port=0, auto_scan=0.05, poll_hold=2.0)
    srv.start()          # returns once listening; srv.url == "http://127.0.0.1:<port>"
    srv.world.inject_message("friend_message", uid, "你好 [微笑]")
    srv.stop()           # wakes held poll2s, closes the listener, joins every thread

``start()``/``stop()`` may be called from any thread; ``stop()`` is idempotent.
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

import waitress
from waitress import wasyncore

from .app import create_app
from .chatter import Chatter
from .onebot import OneBotFace
from .world import SandboxWorld

log = logging.getLogger(__name__)


class SandboxServer:
    """Owns the world, the waitress server and its thread, and the chatter thread.

    :param threads: waitress worker threads; each held poll2 keeps one busy, so keep this
        well above the number of clients polling at once (the control API needs some too).
    Other parameters: see ``SandboxWorld``; ``chatter`` is messages per minute (0 = off).
    The ``onebot_*`` parameters serve the same world over OneBot v11 (``onebot.OneBotFace``:
    ``port``, ``http_port``, ``token``, ``reverse_ws``, ``post_url``, ``heartbeat`` in ms,
    ``message_format``); without a port or URL there is no OneBot face.
    """

    def __init__(self, world: str = "small", seed: int = 1, host: str = "127.0.0.1", port: int = 0, *,
                 auto_scan: Optional[float] = 1.0, auto_confirm: Optional[float] = 1.0,
                 qrcode_ttl: float = 120.0, poll_hold: float = 25.0, chatter: float = 0.0,
                 echo_sends: bool = False, threads: int = 48, onebot_port: Optional[int] = None,
                 onebot_http_port: Optional[int] = None, onebot_token: str = "",
                 onebot_reverse_ws: Optional[str] = None, onebot_post: Optional[str] = None,
                 onebot_heartbeat: float = 30000, onebot_message_format: str = "array") -> None:
        self.world = SandboxWorld(world, seed, auto_scan=auto_scan, auto_confirm=auto_confirm,
                                  qrcode_ttl=qrcode_ttl, poll_hold=poll_hold, echo_sends=echo_sends)
        self.world.set_chatter(chatter)
        self.onebot: Optional[OneBotFace] = None
        if onebot_port is not None or onebot_http_port is not None or onebot_reverse_ws or onebot_post:
            self.onebot = self.world.onebot = OneBotFace(
                self.world, host=host, port=onebot_port, http_port=onebot_http_port, token=onebot_token,
                reverse_ws=onebot_reverse_ws, post_url=onebot_post, heartbeat=onebot_heartbeat,
                message_format=onebot_message_format)
        self.host = host
        self.port = port
        self.threads = threads
        self.app = create_app(self.world)
        self._server = None
        self._thread: Optional[threading.Thread] = None
        self._chatter = Chatter(self.world, seed=seed)
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def url(self) -> str:
        """``http://<host>:<port>`` once started."""
        return "http://%s:%d" % (self.host, self.port)

    def start(self) -> "SandboxServer":
        """Bind, start serving and the chatter; return once the socket listens."""
        with self._lock:
            if self._server is not None:
                raise RuntimeError("sandbox server already started")
            self._server = waitress.create_server(self.app, host=self.host, port=self.port, threads=self.threads,
                                                  ident="openqq-sandbox", expose_tracebacks=False,
                                                  channel_timeout=300, connection_limit=1000)
            self.port = int(self._server.effective_port)  # type: ignore[union-attr]
            self._thread = threading.Thread(target=self._run, name="openqq-sandbox-http", daemon=True)
            self._thread.start()
            self._chatter.start()
            if self.onebot is not None:
                self.onebot.start()
        log.info("sandbox: serving %s world (seed %s) on %s", self.world.data.size, self.world.data.seed, self.url)
        return self

    def _run(self) -> None:
        try:
            self._server.run()  # type: ignore[union-attr]
        except Exception:  # pragma: no cover - only if waitress itself breaks
            if not self._stopped:
                log.exception("sandbox: server loop crashed")
        finally:
            log.debug("sandbox: server loop ended")

    def serve_forever(self) -> None:
        """Start and block until ``stop()`` (or KeyboardInterrupt in the calling thread)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Wake held poll2s and hangs, close every socket, join the threads. Idempotent."""
        with self._lock:
            if self._stopped or self._server is None:
                self._stopped = True
                return
            self._stopped = True
            server = self._server
        # 1. Producers: chatter stops, every held poll2 / hang / delay returns at once.
        if self.onebot is not None:
            self.onebot.stop(timeout)
        self.world.stop()
        self._chatter.stop(timeout)
        loop_alive = self._thread is not None and self._thread.is_alive()

        def in_loop(fn) -> None:
            # Run fn inside the asyncore loop thread. The loop may run the thunk (and close
            # the trigger) before our own write lands, so EBADF here means "done".
            if loop_alive:
                try:
                    server.trigger.pull_trigger(fn)  # type: ignore[attr-defined]
                except OSError:
                    pass
            else:
                fn()

        def close_listener() -> None:
            # dispatcher.close only: the server's own close() would also close the trigger.
            wasyncore.dispatcher.close(server)

        def close_all() -> None:
            for ch in list(server._map.values()):  # type: ignore[attr-defined]
                try:
                    ch.handle_close()
                except Exception:  # pragma: no cover - already closed
                    pass
        # 2. No new connections; the loop keeps flushing the answers of running requests.
        in_loop(close_listener)
        # 3. Worker threads finish (nothing blocks any more); queued requests are cancelled.
        #    Joined before the trigger closes, so no worker pulls a closed trigger later.
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)  # type: ignore[attr-defined]
        # 4. Close every channel from inside the loop, which ends it; join it.
        in_loop(close_all)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("sandbox: server thread still running after %.1f s", timeout)
        log.info("sandbox: stopped")

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
