"""Many accounts behind one sandbox address: ``openqq sandbox --accounts N``.

Each account is its own seeded ``SandboxWorld`` (seeds ``seed``, ``seed + 1``, ...), served
by one waitress server. A request goes to the world it belongs to:

* a request carrying a login cookie (``uin``, ``p_uin``, ``superuin``, ``pt2gguin``) goes to
  the world of that QQ number;
* a request carrying a ``qrsig`` cookie goes to the world that issued that QR code;
* a new QR code (``ptqrshow`` without either) is issued by the account reserved with
  ``POST /sandbox/accounts/<qq or index>/next`` if any, else by the first account that is
  neither logged in nor showing a live QR code: the simulated phone of that account scans it;
* a password login (``/login?u=QQ``) goes to that QQ's world;
* ``/sandbox/accounts`` lists the accounts, ``/sandbox/accounts/<qq or index>/<path>`` is
  that world's control API (``/sandbox/<path>``); a plain ``/sandbox/<path>`` is account 1's.

So a client name cannot be seen by the SmartQQ protocol; the convention for "log this client
into that account" is to reserve the account, then start the client.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from http import HTTPStatus
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from werkzeug.http import parse_cookie

from ..browser_rules import BrowserRules
from . import control
from .app import create_app
from .chatter import Chatter
from .server import SandboxServer
from .world import SandboxWorld, _qq_of_uin_cookie

log = logging.getLogger(__name__)

_LOGIN_COOKIES = ("uin", "p_uin", "superuin", "pt2gguin")
_QRSIG_KEPT = 20_000          # qrsig -> account entries remembered (oldest dropped first)


class _Account:
    def __init__(self, index: int, world: SandboxWorld, app: Any) -> None:
        self.index = index
        self.world = world
        self.app = app
        self.qq = world.data.account.qq
        self.qr_until = 0.0        # a QR code it issued is live until then (monotonic)


class AccountRouter:
    """The WSGI app in front of the worlds (see the module docstring). Thread-safe."""

    def __init__(self, accounts: List[_Account], *, qrcode_ttl: float,
                 allowed_hosts: Iterable[str] = (), host: Optional[str] = None) -> None:
        self.accounts = accounts
        self.rules = BrowserRules(allowed_hosts=allowed_hosts, own_host=host)
        self.by_qq = {a.qq: a for a in accounts}
        if len(self.by_qq) != len(accounts):
            raise ValueError("two sandbox accounts drew the same QQ number; choose another --seed")
        self.qrcode_ttl = qrcode_ttl
        self._lock = threading.Lock()
        self._qrsig: Dict[str, _Account] = {}
        self._reserved: List[_Account] = []

    # ---- choosing an account ----------------------------------------------------------
    def lookup(self, key: str) -> Optional[_Account]:
        """An account by QQ number or by 1-based index."""
        if not key.isdigit():
            return None
        n = int(key)
        if n in self.by_qq:
            return self.by_qq[n]
        return self.accounts[n - 1] if 1 <= n <= len(self.accounts) else None

    def reserve(self, account: _Account) -> None:
        with self._lock:
            self._reserved.append(account)

    def _for_new_qrcode(self) -> Optional[_Account]:
        now = time.monotonic()
        with self._lock:
            if self._reserved:
                chosen: Optional[_Account] = self._reserved.pop(0)
            else:
                chosen = next((a for a in self.accounts if a.qr_until <= now and a.world.grant is None), None)
            if chosen is not None:
                chosen.qr_until = now + self.qrcode_ttl
            return chosen

    def _route(self, environ: Dict[str, Any]) -> Optional[_Account]:
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        for name in _LOGIN_COOKIES:
            qq = _qq_of_uin_cookie(cookies.get(name))
            if qq in self.by_qq:
                return self.by_qq[qq]
        path = environ.get("PATH_INFO", "")
        sig = cookies.get("qrsig")
        with self._lock:
            known = self._qrsig.get(sig) if sig else None
        if known is not None:
            if path.endswith("/ptqrshow"):
                known.qr_until = time.monotonic() + self.qrcode_ttl
            return known
        if path.endswith("/ptqrshow"):
            return self._for_new_qrcode()
        if path == "/login":
            qs = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
            found = self.lookup(qs.get("u", ""))
            if found is not None and str(found.qq) == qs.get("u"):
                return found
        return self.accounts[0]

    def _remember_qrsig(self, account: _Account, headers: Iterable[Tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() == "set-cookie" and value.startswith("qrsig="):
                sig = value[len("qrsig="):].split(";", 1)[0]
                with self._lock:
                    self._qrsig[sig] = account
                    if len(self._qrsig) > _QRSIG_KEPT:
                        for old in list(self._qrsig)[:_QRSIG_KEPT // 2]:
                            del self._qrsig[old]

    # ---- WSGI -------------------------------------------------------------------------
    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == "/sandbox/accounts" or path.startswith("/sandbox/accounts/"):
            return self._control(environ, start_response, path[len("/sandbox/accounts"):])
        account = self._route(environ)
        if account is None:
            return _json(start_response, "503 Service Unavailable",
                         {"error": "every sandbox account is logged in or showing a QR code"})
        if not path.endswith("/ptqrshow"):
            return account.app(environ, start_response)

        def remembering(status: str, headers: List[Tuple[str, str]], *exc: Any) -> Any:
            self._remember_qrsig(account, headers)
            return start_response(status, headers, *exc)
        return account.app(environ, remembering)

    def _control(self, environ: Dict[str, Any], start_response: Callable[..., Any], rest: str) -> Any:
        refused = control.refusal(self.rules, environ)
        if refused is not None:
            return _json(start_response, "%d %s" % (refused[0], HTTPStatus(refused[0]).phrase), refused[1])
        if rest in ("", "/"):
            return _json(start_response, "200 OK", {"accounts": [
                {"index": a.index, "qq": a.qq, "nick": a.world.data.account.nick, "seed": a.world.data.seed,
                 "logged_in": a.world.grant is not None} for a in self.accounts]})
        key, _, tail = rest[1:].partition("/")
        account = self.lookup(key)
        if account is None:
            return _json(start_response, "404 Not Found", {"error": "no such account: %s" % key})
        if tail == "next":
            if environ.get("REQUEST_METHOD") != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            self.reserve(account)
            return _json(start_response, "200 OK", {"next": account.qq})
        inner = dict(environ)
        inner["PATH_INFO"] = "/sandbox/" + tail
        return account.app(inner, start_response)


def _json(start_response: Callable[..., Any], status: str, body: Dict[str, Any]) -> List[bytes]:
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


class MultiSandbox:
    """``count`` sandbox accounts on one address; the same surface as ``SandboxServer``.

    :param count: number of accounts (worlds), seeded ``seed`` .. ``seed + count - 1``.
    :param threads: waitress threads; raised to ``count + 48`` since every logged-in
        account holds one with its poll2.
    Other parameters: see ``SandboxServer``; ``chatter`` is per account.
    """

    onebot: None = None   # many accounts are served over SmartQQ only

    def __init__(self, count: int, world: str = "small", seed: int = 1, host: str = "127.0.0.1",
                 port: int = 0, *, auto_scan: Optional[float] = 1.0, auto_confirm: Optional[float] = 1.0,
                 qrcode_ttl: float = 120.0, poll_hold: float = 25.0, chatter: float = 0.0,
                 echo_sends: bool = False, threads: int = 48, allowed_hosts: Iterable[str] = ()) -> None:
        if count < 1:
            raise ValueError("--accounts must be at least 1")
        kw: Dict[str, Any] = dict(auto_scan=auto_scan, auto_confirm=auto_confirm, qrcode_ttl=qrcode_ttl,
                  poll_hold=poll_hold, echo_sends=echo_sends)
        # Account 1's server owns the socket, the thread and the shutdown; the router
        # takes the place of its app.
        self._server = SandboxServer(world=world, seed=seed, host=host, port=port, chatter=chatter,
                                     threads=max(threads, count + 48), allowed_hosts=allowed_hosts, **kw)
        accounts = [_Account(1, self._server.world, self._server.app)]
        self._chatters: List[Chatter] = []
        for i in range(1, count):
            w = SandboxWorld(world, seed + i, **kw)
            w.set_chatter(chatter)
            accounts.append(_Account(i + 1, w, create_app(w, allowed_hosts=allowed_hosts, host=host)))
            self._chatters.append(Chatter(w, seed=seed + i))
        self.router = AccountRouter(accounts, qrcode_ttl=qrcode_ttl, allowed_hosts=allowed_hosts, host=host)
        self._server.app = self.router

    @property
    def worlds(self) -> List[SandboxWorld]:
        return [a.world for a in self.router.accounts]

    @property
    def world(self) -> SandboxWorld:
        """Account 1's world."""
        return self._server.world

    @property
    def url(self) -> str:
        return self._server.url

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the server stops or ``timeout`` passes; True once it has stopped."""
        return self._server.wait(timeout)

    def start(self) -> "MultiSandbox":
        self._server.start()
        for c in self._chatters:
            c.start()
        log.info("sandbox: %d accounts on %s", len(self.router.accounts), self.url)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Wake every world's held poll2s, stop the chatters, then the server. Idempotent."""
        for a in self.router.accounts:
            a.world.stop()
        for c in self._chatters:
            c.stop(timeout)
        self._server.stop(timeout)

    def __enter__(self) -> "MultiSandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
