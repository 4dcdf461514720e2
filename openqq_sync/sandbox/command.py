"""``openqq sandbox``: run the SmartQQ sandbox server in the foreground.

::

    openqq sandbox [--host 127.0.0.1] [--port 9000] [--world small|large] [--seed N]
                   [--auto-scan SECONDS | --manual-scan] [--auto-confirm SECONDS | --manual-confirm]
                   [--qrcode-ttl SECONDS] [--chatter MESSAGES_PER_MINUTE] [--poll-hold SECONDS]
                   [--echo-sends] [--threads N] [--accounts N]
                   [--onebot-port P] [--onebot-http-port H] [--onebot-token T]
                   [--onebot-reverse-ws URL] [--onebot-post URL] [--onebot-heartbeat MS]
                   [--onebot-message-format array|string]

Stops on Ctrl-C or SIGTERM (turned into KeyboardInterrupt), closing every thread.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
from typing import Any, Callable, List, Optional

from ..browser_rules import host_name, is_loopback
from .generator import WORLD_SIZES

log = logging.getLogger(__name__)

# Seconds a thread waiting for the GIL lets the holder run before it asks for it (Python's
# default: 0.005): while a worker sends an answer, waitress's loop finds that channel writable
# but locked and polls again at once, retaking the GIL on every turn, so the worker back from
# send() waited out the interval each time.
SWITCH_INTERVAL = 0.0001


def _seconds(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register the ``sandbox`` subcommand on ``sub`` (an argparse subparsers object)."""
    p: argparse.ArgumentParser = sub.add_parser("sandbox", help="run the SmartQQ sandbox server",
                       description="Run a SmartQQ-compatible sandbox server with a seeded world. "
                                   "Control API under /sandbox/ (see the README, section The SmartQQ sandbox).")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--allowed-hosts", default="", metavar="NAMES",
                   help="comma-separated Host names the control API answers besides loopback ones "
                        "(for a sandbox on another address; see docs/security.md)")
    p.add_argument("--port", type=int, default=9000, help="port to listen on (default 9000; 0 = any free port)")
    p.add_argument("--world", choices=WORLD_SIZES, default="small", help="world size (default small)")
    p.add_argument("--seed", type=int, default=1, help="world seed: same seed, same QQ numbers and names (default 1)")
    scan = p.add_mutually_exclusive_group()
    scan.add_argument("--auto-scan", type=_seconds, default=1.0, metavar="SECONDS",
                      help="the phone scans a shown QR code after SECONDS (default 1)")
    scan.add_argument("--manual-scan", action="store_true",
                      help="scan only by POST /sandbox/scan")
    confirm = p.add_mutually_exclusive_group()
    confirm.add_argument("--auto-confirm", type=_seconds, default=1.0, metavar="SECONDS",
                         help="the phone confirms SECONDS after the scan (default 1)")
    confirm.add_argument("--manual-confirm", action="store_true",
                         help="confirm only by POST /sandbox/confirm")
    p.add_argument("--qrcode-ttl", type=_seconds, default=120.0, metavar="SECONDS",
                   help="a QR code expires after SECONDS (default 120)")
    p.add_argument("--chatter", type=_seconds, default=0.0, metavar="MESSAGES_PER_MINUTE",
                   help="contacts send this many messages per minute (default 0 = off)")
    p.add_argument("--poll-hold", type=_seconds, default=25.0, metavar="SECONDS",
                   help="an idle poll2 is answered after SECONDS (default 25)")
    p.add_argument("--echo-sends", action="store_true",
                   help="echo the account's own sends through poll2, as the real service did")
    p.add_argument("--threads", type=int, default=48,
                   help="HTTP worker threads; each held poll2 uses one (default 48)")
    ob = p.add_argument_group("OneBot v11", "serve the same world over OneBot v11, as NapCat does "
                                            "(docs/onebot-sandbox.md)")
    ob.add_argument("--onebot-port", type=int, metavar="P", help="forward WebSocket on P (NapCat: 3001)")
    ob.add_argument("--onebot-http-port", type=int, metavar="H", help="HTTP API on H (NapCat: 3000)")
    ob.add_argument("--onebot-token", default="", metavar="T",
                    help="access token of every OneBot transport (and the HTTP POST signing secret)")
    ob.add_argument("--onebot-reverse-ws", metavar="URL", help="reverse WebSocket: connect out to URL")
    ob.add_argument("--onebot-post", metavar="URL", help="POST every event to URL")
    ob.add_argument("--onebot-heartbeat", type=_seconds, default=30000, metavar="MS",
                    help="heartbeat interval in milliseconds (default 30000; 0 = none)")
    ob.add_argument("--onebot-message-format", choices=["array", "string"], default="array",
                    help="message format of events (default array)")
    p.add_argument("--accounts", type=int, default=1, metavar="N",
                   help="host N accounts, each its own world seeded SEED..SEED+N-1; a new QR code "
                        "logs into the next account not logged in (see sandbox/accounts.py)")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=run)
    return p


def build_server(args: argparse.Namespace) -> Any:
    from .server import SandboxServer

    if getattr(args, "accounts", 1) != 1:
        if args.onebot_port is not None or args.onebot_http_port is not None or args.onebot_reverse_ws \
                or args.onebot_post:
            raise SystemExit("openqq sandbox: --accounts serves SmartQQ only; the --onebot-* options "
                             "need a single account")
        from .accounts import MultiSandbox
        return MultiSandbox(args.accounts, world=args.world, seed=args.seed, host=args.host, port=args.port,
                            auto_scan=None if args.manual_scan else args.auto_scan,
                            auto_confirm=None if args.manual_confirm else args.auto_confirm,
                            qrcode_ttl=args.qrcode_ttl, poll_hold=args.poll_hold, chatter=args.chatter,
                            echo_sends=args.echo_sends, threads=args.threads, allowed_hosts=_names(args))
    return SandboxServer(world=args.world, seed=args.seed, host=args.host, port=args.port,
                         auto_scan=None if args.manual_scan else args.auto_scan,
                         auto_confirm=None if args.manual_confirm else args.auto_confirm,
                         qrcode_ttl=args.qrcode_ttl, poll_hold=args.poll_hold, chatter=args.chatter,
                         echo_sends=args.echo_sends, threads=args.threads, onebot_port=args.onebot_port,
                         onebot_http_port=args.onebot_http_port, onebot_token=args.onebot_token,
                         onebot_reverse_ws=args.onebot_reverse_ws, onebot_post=args.onebot_post,
                         onebot_heartbeat=args.onebot_heartbeat,
                         onebot_message_format=args.onebot_message_format, allowed_hosts=_names(args))


def _names(args: argparse.Namespace) -> List[str]:
    return [n.strip() for n in (getattr(args, "allowed_hosts", "") or "").split(",") if n.strip()]


def run(args: argparse.Namespace, *, _serve: Optional[Callable[[Any], None]] = None) -> int:  # test shim
    """Build the server, print where it listens, serve until interrupted. Returns the exit code."""
    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        srv = build_server(args)
    except ValueError as e:
        print("openqq sandbox: %s" % e, file=sys.stderr)
        return 2

    def _term(_signo: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, _term) if _serve is None else None
    if _serve is None:
        sys.setswitchinterval(SWITCH_INTERVAL)
        # The generated worlds live as long as the process; frozen, a full collection no longer
        # walks them (with many accounts it held the GIL long enough to stall every answer).
        gc.freeze()
    try:
        srv.start()
    except OSError as e:
        print("openqq sandbox: cannot listen on %s:%s: %s" % (args.host, args.port, e), file=sys.stderr)
        return 1
    a = srv.world.data.account
    print("SmartQQ sandbox on %s  (world %s, seed %s, account %s %s)" % (srv.url, args.world, args.seed, a.qq, a.nick))
    print("control API: %s/sandbox/world  (README.md: The SmartQQ sandbox)" % srv.url, flush=True)
    if not is_loopback(host_name(args.host)):
        print("openqq sandbox: warning: listening on %s: the control API has no token, so anyone who can "
              "reach this address can change the world and read what the bot sent" % args.host,
              file=sys.stderr, flush=True)
    ob = srv.onebot
    if ob is not None:
        print("OneBot v11:%s%s%s%s" % (
            " ws://%s:%s/" % (args.host, ob.port) if ob.port is not None else "",
            " http://%s:%s/" % (args.host, ob.http_port) if ob.http_port is not None else "",
            " reverse %s" % ob.reverse_ws if ob.reverse_ws else "", " post %s" % ob.post_url if ob.post_url else ""),
            flush=True)
    try:
        (_serve or _wait)(srv)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
        if old is not None:
            signal.signal(signal.SIGTERM, old)
    return 0


def _wait(srv: Any) -> None:
    while not srv.wait(0.5):
        pass
