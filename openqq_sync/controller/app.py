"""The Controller API: the original's four routes, and every other ``/openqq/`` route
forwarded to the client that ``client=NAME`` names.

Routes (GET or POST; parameters in the query or a form body):

* ``/openqq/start_client?client=NAME[&option=value...]``: start a client; any ``openqq run``
  option except the ones the controller owns (``OWNED``) may be given per client.
* ``/openqq/stop_client?client=NAME``
* ``/openqq/check_client[?client=NAME]``: ``{"code": 0, "client": [state file + port, ...]}``
* ``/openqq/get_qrcode?client=NAME``: the client's login QR code (``image/png``)
* ``/openqq/<route>?client=NAME``: that client's single-account API, body and headers as
  sent (``client`` may also be a form field or a JSON body's top-level key); the answer comes
  back as the client gave it. Anything else answers 403 ``{"code": -1, "status": "api not found"}``.
* ``/openqq/console/?client=NAME``: the web console, served here (its files are the same for
  every client, and public as on a client); its page sends ``client=NAME`` on every call.

With a token set, every route needs it (``Authorization: Bearer``, ``X-Auth-Token`` or
``access_token``), checked here once; the client behind is reached with its own token.
The browser rules (:mod:`openqq_sync.browser_rules`: Host, cross-site requests, CORS) are the
controller's own, checked before the token; a client's CORS header is replaced by them.
"""

from __future__ import annotations

import hmac
import http.client
import json
import logging
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote, urlsplit

from flask import Flask, Response, request

from .. import cli as options_mod
from ..browser_rules import BrowserRules, Refusal, set_cors_headers
from ..config import Config
from ..web.extra_routes import add_console, is_public
from .state import Files
from .supervisor import Supervisor, valid_name
from .upstream import Upstream

log = logging.getLogger(__name__)

#: Options the controller sets for each client itself; start_client ignores them.
OWNED = frozenset({"account", "tmpdir", "host", "port", "token", "allow_no_token", "allowed_hosts",
                   "cors_origins", "log_path"})
#: Request parameters that are not client options (the API's own and the original's).
_NOT_OPTIONS = frozenset({"client", "access_token", "callback", "jsoncallback", "datatype", "_"})
#: Headers not passed on: per connection (RFC 9110 7.6.1), or the controller's own.
_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                  "upgrade", "host", "content-length", "authorization", "x-auth-token"})
_STRIP_QUERY = (b"client", b"access_token")
_UNSAFE = re.compile(rb"[^\x21-\x7e]")
JSON_TYPE = "application/json;charset=UTF-8"


def answer(body: Dict[str, Any], status: int = 200, headers: Optional[Dict[str, str]] = None) -> Response:
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status=status, content_type=JSON_TYPE, headers=headers)


def token_ok(token: str) -> bool:
    """Bearer header, else X-Auth-Token, else ``access_token``, as the single-account API."""
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        readings = _header_readings(auth[7:].strip(" \t"))
    elif request.headers.get("X-Auth-Token") is not None:
        readings = _header_readings(request.headers["X-Auth-Token"])
    else:
        readings = [request.values.get("access_token", "").encode("utf-8")]
    want = token.encode("utf-8")
    matched = False
    for given in readings:          # all compared: the time does not tell which one matched
        matched |= hmac.compare_digest(given, want)
    return matched


def _header_readings(text: str) -> List[bytes]:
    # WSGI gives header bytes decoded as latin-1: UTF-8 senders meant those bytes, latin-1
    # senders meant the characters.
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return [text.encode("utf-8")]
    return [raw, text.encode("utf-8")]


def strip_query(raw: bytes) -> bytes:
    """The query string without ``client`` and ``access_token``, the rest byte for byte
    (but any byte that may not stand in a request line percent-encoded)."""
    kept = b"&".join(p for p in raw.split(b"&") if p and p.split(b"=", 1)[0] not in _STRIP_QUERY)
    return _UNSAFE.sub(lambda m: b"%%%02X" % m.group()[0], kept)


def client_options(params: Iterable[Tuple[str, str]]) -> Dict[str, str]:
    """The per-client options in start_client's parameters, checked.

    Unknown names are ignored, as the original passed them on to a client that ignored
    what it did not know. :raises ValueError: a known option with a bad value.
    """
    names = set(Config.option_names())
    out: Dict[str, str] = {}
    for key, value in params:
        name = key.strip().lower().replace("-", "_")
        if name in _NOT_OPTIONS or name in OWNED or name not in names:
            continue
        options_mod.convert(name, value)
        if name in ("post_api", "poll_api") and value:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"option {name}: not an http:// or https:// URL")
        out[name] = value
    return out


def create_controller_app(supervisor: Supervisor, files: Files, *, token: Optional[str] = None,
                          allowed_hosts: Iterable[str] = (), cors_origins: Iterable[str] = (),
                          host: Optional[str] = None) -> Flask:
    """The Controller API over ``supervisor``'s clients (see the module docstring).

    :param host: the address it listens on, answered as a Host besides loopback ones.
    """
    app = Flask("openqq_sync.controller")
    rules = BrowserRules(token=bool(token), allowed_hosts=allowed_hosts, cors_origins=cors_origins, own_host=host)
    upstream = Upstream()
    app.extensions["openqq_controller"] = supervisor

    def client_name() -> str:
        name = request.args.get("client")
        if name is None and request.mimetype == "application/x-www-form-urlencoded":
            request.get_data(cache=True)       # the raw body is forwarded as sent
            name = request.form.get("client")
        elif name is None and request.is_json:
            body = request.get_json(silent=True)
            if isinstance(body, dict) and body.get("client") is not None:
                name = str(body.get("client"))
        return name or ""

    @app.before_request
    def _auth() -> Optional[Response]:
        try:
            rules.check(request.environ)
        except Refusal as e:
            return answer(e.to_dict(), 403)
        # A CORS preflight carries no credentials; the client behind answers it. The console
        # asks its user for the token itself.
        if token and request.method != "OPTIONS" and not is_public() and not token_ok(token):
            return answer({"code": -6, "status": "auth failure"}, 401, {"WWW-Authenticate": "Bearer"})
        return None

    @app.after_request
    def _cors(resp: Response) -> Response:
        set_cors_headers(resp.headers, rules, request.environ)
        return resp

    add_console(app, methods=["GET"])

    @app.route("/openqq/start_client", methods=["GET", "POST"])
    def start_client() -> Response:
        name = client_name()
        if not name:
            return answer({"code": 1, "status": "client not found"})
        if not valid_name(name):
            return answer({"code": 1, "status": "client name invalid", "client": name})
        try:
            opts = client_options(request.values.items())  # the first value of each name
        except ValueError as e:
            return answer({"code": 3, "status": "failure", "client": name, "reason": str(e)})
        return answer(supervisor.start_client(name, opts))

    @app.route("/openqq/stop_client", methods=["GET", "POST"])
    def stop_client() -> Response:
        name = client_name()
        if not name:
            return answer({"code": 1, "status": "client not found"})
        return answer(supervisor.stop_client(name))

    def state_of(account: Any) -> Dict[str, Any]:
        doc = files.read_state(account.name)
        if doc is None or doc.get("pid") != account.pid:
            # Started, not yet written (or a previous run's file): the original's first state.
            doc = {"account": account.name, "state": "init", "pid": account.pid,
                   "start_time": account.start_time, "tmpdir": files.tmpdir}
        elif doc.get("state") != "stop" and not supervisor.alive(account):
            doc["state"] = "stop"          # killed before it could write its last state
        doc["port"] = account.port
        return doc

    @app.route("/openqq/check_client", methods=["GET", "POST"])
    def check_client() -> Response:
        name = client_name()
        if name:
            account = supervisor.get(name)
            if account is None:
                return answer({"code": 1, "status": "client not exists"})
            chosen = [account]
        else:
            chosen = supervisor.accounts()
        try:
            return answer({"code": 0, "client": [state_of(a) for a in chosen]})
        except ValueError as e:
            log.warning("controller: cannot read a client state file: %s", e)
            return answer({"code": 1, "status": "client state file read error"})

    @app.route("/openqq/get_qrcode", methods=["GET", "POST"])
    def get_qrcode() -> Response:
        name = client_name()
        if not name:
            return answer({"code": 1, "status": "client not found"})
        if supervisor.get(name) is None:
            return answer({"code": 1, "status": "client not exists"})
        try:
            with open(files.client_file("qrcode", name), "rb") as fh:
                data = fh.read()
        except OSError:
            return Response(b"", status=404, content_type="text/plain")
        return Response(data, content_type="image/png", headers={"Cache-Control": "no-cache"})

    @app.route("/openqq/<path:route>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    def forward(route: str) -> Response:
        name = client_name()
        if not name:
            return answer({"code": 1, "status": "client not found"})
        account = supervisor.get(name)
        if account is None:
            return answer({"code": 1, "status": "client not exists"})
        query = strip_query(request.query_string)
        target = f"/openqq/{quote(route)}" + ("?" + query.decode("latin-1") if query else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        headers["Authorization"] = f"Bearer {account.token}"
        try:
            conn, upstream_resp = upstream.request(account.port, request.method, target,
                                                   request.get_data(cache=True), headers)
        except TimeoutError:
            return answer({"code": 1, "status": "client timeout", "client": name}, 504)
        except (OSError, http.client.HTTPException):
            return answer({"code": 1, "status": "client not ready", "client": name}, 503)
        out_headers = [(k, v) for k, v in upstream_resp.getheaders()
                       if k.lower() not in _HOP and k.lower() not in ("server", "date")]
        length = upstream_resp.getheader("Content-Length")
        if length is not None:
            out_headers.append(("Content-Length", length))
        return Response(upstream.body(account.port, conn, upstream_resp), status=upstream_resp.status,
                        headers=out_headers, direct_passthrough=True)

    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
    def not_found(rest: str) -> Response:
        return answer({"code": -1, "status": "api not found"}, 403)

    return app
