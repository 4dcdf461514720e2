"""``openqq run`` (client + API) and ``openqq demo`` (sandbox + client + API in one process).

``run`` serves the API with waitress in the main thread. It ends, in this order, when
``/openqq/stop_client`` stopped the client, when the client stopped by itself, or on
SIGTERM/SIGINT: heartbeat stopped, client stopped (state ``stop``, ``stop`` event, pid file
removed), post_api drained for up to 5 s, every thread joined.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import signal
import sys
import threading
import urllib.parse
from typing import Any, Callable, Dict, List, Optional

from . import cli, signals
from .config import Config

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DEMO_DEFAULTS = {"account": "demo", "qrcode_poll_interval": 1.0}   # the sandbox phone is quick
LOG_FORMAT = "[%(asctime)s] [%(levelname)s] %(name)s: %(message)s"
DATE_FORMAT = "%y/%m/%d %H:%M:%S"


def is_loopback(host: str) -> bool:
    # An address literal only (or "localhost"): a name such as "127.0.0.1.nip.io" starts
    # like a loopback address but may resolve anywhere.
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve_refusal(config: Config, *, api: str, risk: str, allow: str) -> Optional[str]:
    """Why ``config`` may not be served, or None: a non-loopback host without a token (the
    message names the ``api``, the ``risk`` and what ``--allow-no-token`` does), or a
    ``--post-api``/``--poll-api`` that is not an http:// or https:// URL."""
    if not is_loopback(config.host) and not config.token and not config.allow_no_token:
        return (f"openqq: refusing to serve the {api} on {config.host} without a token: anyone who "
                f"can reach it could {risk}. Set --token TOKEN (or OPENQQ_TOKEN), or pass --allow-no-token{allow}.")
    for name, url in (("post_api", config.post_api), ("poll_api", config.poll_api)):
        parts = urllib.parse.urlsplit(url or "")
        if url and (parts.scheme not in ("http", "https") or not parts.hostname):
            return f"openqq: --{name.replace('_', '-')} must be an http:// or https:// URL"
    return None


class SignalStop:
    """From now until :meth:`restore`, SIGTERM and SIGINT call ``stop`` once, on a thread
    named ``name``; later signals are ignored while it stops. Create on the main thread.

    The handler runs on the main thread between any two of its bytecodes, maybe while it
    holds a lock (the event buffer's, waitress's) that stopping takes: a thread of its own
    does it, so it cannot wait on a lock its own thread holds.
    """

    def __init__(self, stop: Callable[[], None], name: str) -> None:
        self._stop = stop
        self._name = name
        self._thread: Optional[threading.Thread] = None
        self._previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}

    def _on_signal(self, signo: int, _frame: Any) -> None:
        if self._thread is None:
            log.info("signal %d: stopping", signo)
            self._thread = threading.Thread(target=self._stop, name=self._name, daemon=True)
            self._thread.start()

    def restore(self) -> None:
        """Join the stopping thread (if a signal came) and put the previous handlers back."""
        if self._thread is not None:
            self._thread.join(5)
        for s, handler in self._previous.items():
            signal.signal(s, handler)


def serve_with(server: Any, heartbeat: Any, installed: Optional[Callable[[Any], None]]) -> None:
    """``server.serve_forever()`` with ``heartbeat`` (None, or anything with ``start()`` and
    ``stop()``) running meanwhile; ``installed(server)`` first (the tests' hook)."""
    if heartbeat is not None:
        heartbeat.start()
    try:
        if installed is not None:
            installed(server)
        server.serve_forever()
    finally:
        if heartbeat is not None:
            heartbeat.stop()


def add_parsers(sub: Any) -> None:
    """Register ``run`` and ``demo`` on an argparse subparsers object."""
    run = sub.add_parser("run", help="log in and serve the Openqq API",
                         description="Log a QQ account in (QR code in the terminal) and serve the "
                                     "Openqq HTTP API. Every option is also an OPENQQ_<OPTION> "
                                     "environment variable and a config-file key.")
    cli.add_flags(run)
    run.set_defaults(func=run_command)
    demo = sub.add_parser("demo", help="sandbox + client + API on 127.0.0.1:5000",
                          description="Run a SmartQQ sandbox (small world, chatter on, the phone "
                                      "scans by itself) and log into it, serving the API.")
    demo.add_argument("--chatter", type=float, default=6.0, metavar="PER_MINUTE",
                      help="messages the sandbox's contacts send per minute (default 6)")
    demo.add_argument("--seed", type=int, default=1, help="sandbox world seed (default 1)")
    cli.add_flags(demo)
    demo.set_defaults(func=demo_command)


def setup_logging(config: Config) -> None:
    """Console (and ``log_path``) logging; only the CLI installs handlers (house style C2)."""
    level = getattr(logging, str(config.log_level).upper(), logging.INFO)
    handlers: List[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if config.log_path:
        handlers.append(logging.FileHandler(config.log_path, encoding="utf-8"))
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        h.setFormatter(logging.Formatter(LOG_FORMAT, DATE_FORMAT))
        root.addHandler(h)
    root.setLevel(level)
    # Every SmartQQ request is logged by the transport; that is HTTP detail (debug), and at
    # info it would bury the message lines.
    if level > logging.DEBUG:
        logging.getLogger("openqq_sync.backends.smartqq.transport").setLevel(max(level, logging.WARNING))
    # urllib3 logs each URL with its query string (psessionid, vfwebqq, ptwebqq...) at
    # debug; the transport logs the same requests with those values redacted.
    logging.getLogger("urllib3").setLevel(max(level, logging.INFO))
    # ShowMsg lines carry their own time stamp: print them bare.
    show = logging.getLogger("openqq_sync.showmsg")
    show.propagate = False
    show.handlers = []
    for h in handlers:
        bare = logging.StreamHandler(h.stream) if isinstance(h, logging.StreamHandler) else h
        bare.setFormatter(logging.Formatter("%(message)s"))
        show.addHandler(bare)
    show.setLevel(level)


def _configure(args: argparse.Namespace, base: Optional[Dict[str, Any]] = None) -> Optional[Config]:
    try:
        config, _ = cli.load(args, base=base)
    except (OSError, ValueError) as e:
        print(f"openqq: {e}", file=sys.stderr)
        return None
    return config


def run_command(args: argparse.Namespace) -> int:
    config = _configure(args)
    if config is None:
        return 2
    setup_logging(config)
    return serve(config)


def demo_command(args: argparse.Namespace) -> int:
    from .sandbox import SandboxServer

    # The sandbox serves SmartQQ and a OneBot v11 face on one world, so the demo runs with
    # either backend (--backend onebot connects to the face).
    sandbox = SandboxServer(world="small", seed=args.seed, host="127.0.0.1", port=0, auto_scan=1.0,
                            auto_confirm=1.0, chatter=args.chatter, onebot_port=0)
    sandbox.start()
    try:
        assert sandbox.onebot is not None
        onebot_url = f"ws://127.0.0.1:{sandbox.onebot.port}"
        config = _configure(args, base=dict(DEMO_DEFAULTS, onebot_url=onebot_url))
        if config is None:
            return 2
        setup_logging(config)
        if config.backend == "onebot":
            print(f"OneBot v11 sandbox on {config.onebot_url} (small world, the account is logged in)",
                  flush=True)
        else:
            print(f"SmartQQ sandbox on {sandbox.url} (small world, the phone scans the QR code by itself)",
                  flush=True)
        return serve(config.replace(server=sandbox.url))
    finally:
        sandbox.stop()


def serve(config: Config, *, _installed: Optional[Callable[[Any], None]] = None) -> int:  # test shim
    """Run client and API until stopped; returns the exit code (0 clean, 1 failure, 2 refused).

    Call from the main thread (signal handlers are installed).
    """
    refusal = serve_refusal(config, api="API", risk="send messages as you", allow=" to accept an open API")
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    from .client import Client
    from .delivery import Delivery, Heartbeat
    from .terminal import ShowMsg
    from .web import ApiServer, create_app

    client = Client(config)
    delivery = Delivery(client, config).start()
    holder: Dict[str, ApiServer] = {}

    def shutdown() -> None:
        # Non-blocking: wake check_event waiters, then let the serving loop end.
        delivery.buffer.close()
        server = holder.get("server")
        if server is not None:
            server.close()

    app = create_app(client, config, delivery=delivery, on_stop=shutdown)
    try:
        server = ApiServer(app, host=config.host, port=config.port, threads=config.threads,
                           name=f"openqq-{config.account}-http", idle_timeout=config.idle_timeout,
                           connection_limit=config.connection_limit)
    except (OSError, ValueError) as e:   # ValueError: waitress cannot resolve the host
        print(f"openqq: cannot listen on {config.host}:{config.port}: {e}", file=sys.stderr)
        delivery.stop(0)
        return 1
    holder["server"] = server
    showmsg = ShowMsg(client).attach() if config.show_message else None

    def client_stopped(sender: Any, **_: Any) -> None:
        shutdown()

    signals.stop.connect(client_stopped, sender=client, weak=False)
    heartbeat = None
    if config.poll_api:
        heartbeat = Heartbeat(client, config.poll_api, own_address=lambda: server.address,
                              interval=config.poll_interval, timeout=config.ua_request_timeout,
                              token=config.token, account=config.account,
                              max_answer=config.max_answer_size)

    signal_stop = SignalStop(shutdown, f"openqq-{config.account}-shutdown")
    try:
        try:
            client.start()
        except (RuntimeError, OSError) as e:   # OSError: an unsafe or unusable tmpdir
            print(f"openqq: {e}", file=sys.stderr)
            return 1
        log.info("Openqq API on %s/openqq/ (account %s, %d threads)", server.url, config.account,
                 config.threads)
        log.info("web console (QR code, live messages): %s/openqq/console/", server.url)
        serve_with(server, heartbeat, _installed)   # the heartbeat stops first
    finally:
        client.stop()
        signals.stop.disconnect(client_stopped, sender=client)
        delivery.stop(drain_timeout=5.0)
        if showmsg is not None:
            showmsg.detach()
        server.stop()
        signal_stop.restore()
        prefix = f"openqq-{config.account}-"
        alive = [t.name for t in threading.enumerate() if t.name.startswith(prefix) and t.is_alive()]
        if alive:
            log.warning("threads still running at exit: %s", ", ".join(alive))
    if client.error:
        log.error("client stopped: %s", client.error)
        return 1
    log.info("stopped")
    return 0
