"""``openqq controller``: many accounts on one machine, with the original's Controller API.

::

    openqq controller [--host 127.0.0.1] [--port 4000] [--max-clients 100] [--tmpdir DIR]
                      [--post-api URL] [--poll-api URL] [--token T] [any openqq run option]

``host``, ``port``, ``token``, ``tmpdir``, ``threads`` and ``log_path`` are the controller's
own (each client listens on 127.0.0.1 with a token of its own, 32 threads, and writes
``openqq_client_NAME.log`` in the tmpdir); ``post_api`` is every client's (with ``client=NAME`` added);
``poll_api`` is the controller's heartbeat (GET every ``poll_interval`` seconds, as the
original's); any other option set by flag, ``OPENQQ_*`` variable or config file is every
client's default, which start_client parameters override. ``max_clients`` is also
``OPENQQ_MAX_CLIENTS`` and a config-file key.

Stops on SIGTERM/SIGINT: the API closes, every client gets SIGTERM (SIGKILL 10 s later), and
the client list stays in the tmpdir, so the next controller starts them again. A controller
that dies without stopping leaves its clients running; the next one takes them back.
"""

from __future__ import annotations

import argparse
import configparser
import json
import logging
import os
import sys
from typing import Any, Dict, Mapping, Optional, Set, Tuple

from .. import cli as options
from ..config import Config

log = logging.getLogger(__name__)

DEFAULTS = {"port": 4000, "account": "controller"}
#: Controller-only options (not Config fields): name -> (default, converter).
OWN = {"max_clients": (100, int)}
#: Config options that are the controller's own, not passed to its clients.
NOT_FOR_CLIENTS = frozenset({"host", "port", "token", "allow_no_token", "allowed_hosts", "cors_origins",
                             "tmpdir", "account", "threads",
                             "post_api", "poll_api", "poll_interval", "log_path", "show_qrcode"})


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser("controller", conflict_handler="resolve",
                       help="many accounts: the original's Controller API on port 4000",
                       description="Serve the Controller API (start_client, stop_client, check_client, "
                                   "get_qrcode, and every single-account route with client=NAME), one "
                                   "'openqq run' process per account. Options other than the controller's "
                                   "own are every client's defaults.")
    p.add_argument("--max-clients", dest="max_clients", default=None, metavar="N",
                   help="start_client refuses more clients (default 100)")
    options.add_flags(p)
    # The same options as `openqq run`, with the controller's meaning where it differs.
    for flag, text in (("--host", "address the Controller API listens on (default 127.0.0.1; others need --token)"),
                       ("--port", "Controller API port (default 4000)"),
                       ("--token", "Controller API token (clients get private tokens of their own)"),
                       ("--post-api", "every client reports here, with client=NAME added"),
                       ("--poll-api", "the controller's heartbeat URL, GET every --poll-interval seconds"),
                       ("--threads", "the controller's HTTP threads; each check_event waiting through it holds one "
                                     "(default: 2 per client + 32, at least 160; clients get 32)")):
        p.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, metavar=flag[2:].replace("-", "_").upper(),
                       help=text)
    p.set_defaults(func=controller_command)
    return p


def _text(value: Any) -> str:
    """A Config value as an ``OPENQQ_*`` variable's text (what options.convert reads back)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return "" if value is None else str(value)


def _file_items(path: str) -> Dict[str, Any]:
    if path.lower().endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: the JSON config must be an object")
        return {k.strip().lower().replace("-", "_"): v for k, v in data.items()}
    parser = configparser.ConfigParser(interpolation=None)
    with open(path, encoding="utf-8") as fh:
        parser.read_file(fh)
    if not parser.has_section("openqq"):
        raise ValueError(f"{path}: no [openqq] section")
    return {k.strip().lower().replace("-", "_"): v for k, v in parser.items("openqq")}


def load(args: argparse.Namespace,
         env: Optional[Mapping[str, str]] = None) -> Tuple[Config, Dict[str, Any], Dict[str, str]]:
    """The controller's Config, its own options, and the clients' default options (text).

    Same precedence as ``openqq run``: defaults, config file, ``OPENQQ_*``, flags.
    :raises ValueError: an unknown key or a bad value.
    """
    env = dict(os.environ if env is None else env)
    own: Dict[str, Any] = {k: v[0] for k, v in OWN.items()}
    base: Dict[str, Any] = dict(DEFAULTS)
    from_file: Set[str] = set()
    path = getattr(args, "config", None) or env.pop(options.ENV_PREFIX + "CONFIG", None)
    if path:
        for key, value in _file_items(path).items():
            if key in OWN:
                own[key] = OWN[key][1](value)
            else:
                base[key] = options.convert(key, value)
                from_file.add(key)
    for key, (_, conv) in OWN.items():
        if options.ENV_PREFIX + key.upper() in env:
            own[key] = conv(env[options.ENV_PREFIX + key.upper()])
        if getattr(args, key, None) is not None:
            own[key] = conv(getattr(args, key))
    plain = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "config"})
    config, explicit = options.load(plain, env=env, base=base)
    explicit |= from_file
    defaults = {name: _text(getattr(config, name)) for name in sorted(explicit) if name not in NOT_FOR_CLIENTS}
    if own["max_clients"] < 1:
        raise ValueError("max_clients must be at least 1")
    if "threads" not in explicit:
        # Every check_event waiting through the controller holds one of its threads: room
        # for two per client besides the other calls.
        config = config.replace(threads=max(config.threads, 2 * own["max_clients"] + 32))
    return config, own, defaults


def controller_command(args: argparse.Namespace) -> int:
    try:
        config, own, defaults = load(args)
    except (OSError, ValueError) as e:
        print(f"openqq: {e}", file=sys.stderr)
        return 2
    from ..runner import setup_logging
    setup_logging(config)
    return serve(config, max_clients=own["max_clients"], defaults=defaults)


def serve(config: Config, *, max_clients: int = 100, defaults: Optional[Dict[str, str]] = None,
          _installed: Any = None) -> int:  # test shim: called with the server once it listens
    """Run the controller until SIGTERM/SIGINT; call from the main thread."""
    from ..runner import SignalStop, serve_refusal, serve_with
    from ..web import ApiServer
    from .app import create_controller_app
    from .heartbeat import ControllerHeartbeat
    from .state import Files
    from .supervisor import Supervisor

    refusal = serve_refusal(config, api="Controller API", risk="start clients and send messages", allow="")
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    files = Files(config.tmpdir)
    os.makedirs(files.tmpdir, mode=0o700, exist_ok=True)
    other = files.claim_pid()
    if other:
        print(f"openqq: another controller (pid {other}) uses {files.tmpdir}; stop it first", file=sys.stderr)
        return 1
    supervisor = Supervisor(files, defaults=defaults or {}, post_api=config.post_api, max_clients=max_clients)
    app = create_controller_app(supervisor, files, token=config.token, allowed_hosts=config.allowed_hosts,
                                cors_origins=config.cors_origins, host=config.host)
    try:
        server = ApiServer(app, host=config.host, port=config.port, threads=config.threads,
                           name="openqq-controller-http")
    except (OSError, ValueError) as e:
        print(f"openqq: cannot listen on {config.host}:{config.port}: {e}", file=sys.stderr)
        files.release_pid()
        return 1
    heartbeat = ControllerHeartbeat(config.poll_api, config.poll_interval) if config.poll_api else None
    signal_stop = SignalStop(server.close, "openqq-controller-shutdown")
    try:
        supervisor.start()
        log.info("Controller API on %s/openqq/ (tmpdir %s, at most %d clients)", server.url, files.tmpdir,
                 max_clients)
        serve_with(server, heartbeat, _installed)   # the heartbeat stops first
    finally:
        server.stop()
        supervisor.stop()
        signal_stop.restore()
        files.release_pid()
        log.info("controller: stopped")
    return 0
