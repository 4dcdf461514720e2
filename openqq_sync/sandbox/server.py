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
from typing import Callable, Iterable, Optional

from ..serving import WsgiServer
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
    ``allowed_hosts``: Host names the control API answers besides loopback ones.
    """

    def __init__(self, world: str = "small", seed: int = 1, host: str = "127.0.0.1", port: int = 0, *,
                 auto_scan: Optional[float] = 1.0, auto_confirm: Optional[float] = 1.0,
                 qrcode_ttl: float = 120.0, poll_hold: float = 25.0, chatter: float = 0.0,
                 echo_sends: bool = False, threads: int = 48, onebot_port: Optional[int] = None,
                 onebot_http_port: Optional[int] = None, onebot_token: str = "",
                 onebot_reverse_ws: Optional[str] = None, onebot_post: Optional[str] = None,
                 onebot_heartbeat: float = 30000, onebot_message_format: str = "array",
                 allowed_hosts: Iterable[str] = ()) -> None:
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
        # A WSGI application: this world's Flask app, or the router of a MultiSandbox.
        self.app: Callable[..., Iterable[bytes]] = create_app(self.world, allowed_hosts=allowed_hosts, host=host)
        self._server: Optional[WsgiServer] = None
        self._stopped_event = threading.Event()
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
            self._server = WsgiServer(self.app, host=self.host, port=self.port, name="openqq-sandbox-http",
                                      threads=self.threads, ident="openqq-sandbox", expose_tracebacks=False,
                                      channel_timeout=300, connection_limit=1000)
            self.port = self._server.port
            self._server.start()
            self._chatter.start()
            if self.onebot is not None:
                self.onebot.start()
        log.info("sandbox: serving %s world (seed %s) on %s", self.world.data.size, self.world.data.seed, self.url)
        return self

    def serve_forever(self) -> None:
        """Start and block until ``stop()`` (or KeyboardInterrupt in the calling thread)."""
        self.start()
        try:
            while not self.wait(0.5):
                pass
        finally:
            self.stop()

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until :meth:`stop` has run; True if it has."""
        return self._stopped_event.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Wake held poll2s and hangs, close every socket, join the threads. Idempotent."""
        with self._lock:
            if self._stopped or self._server is None:
                self._stopped = True
                self._stopped_event.set()
                return
            self._stopped = True
            server = self._server
        # Producers first: the OneBot face, chatter, every held poll2 / hang / delay returns at once,
        # so the server's workers are free to end.
        if self.onebot is not None:
            self.onebot.stop(timeout)
        self.world.stop()
        self._chatter.stop(timeout)
        server.stop(timeout)
        self._stopped_event.set()
        log.info("sandbox: stopped")

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
