"""Routes beyond the original's API: the login QR code, the OpenAPI document, the web console.

:func:`install` adds them to the Openqq blueprint, so they share its token check, CORS and
error handlers. The console's files and the document are public (:func:`is_public`): the
console asks the browser user for the token and sends it as ``Authorization: Bearer``, and
neither holds anything about the account. The console lives under ``/openqq/`` rather than at
``/``: an embedding app keeps its own home page, and one nginx ``location /openqq/`` covers
everything; :func:`~openqq_sync.web.app.create_app`'s own app redirects ``GET /`` here.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from typing import Any, Dict, List, Union

from flask import Blueprint, Flask, Response, request, send_file

from ..client import contacts as _lookup
from .errors import ApiError
from .http import json_response

STATIC_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")
CONSOLE_PATH = "/openqq/console/"
OPENAPI_PATH = "/openqq/openapi.json"
# Flask adds "; charset=utf-8" to text types itself.
CONSOLE_FILES = {"": ("index.html", "text/html"),
                 "console.js": ("console.js", "text/javascript"),
                 "console.css": ("console.css", "text/css")}
NO_QRCODE = 404


def _console_endpoint(name: str) -> str:
    return "console_" + (name.replace(".", "_") or "index")


#: Endpoints that never need the token. Matched by endpoint, not path, so that they stay
#: public when the blueprint is mounted under a url_prefix.
PUBLIC_ENDPOINTS = frozenset({"openapi_json"} | {_console_endpoint(n) for n in CONSOLE_FILES})


def is_public() -> bool:
    """True for a request to a route that never needs the token (console files, document)."""
    rule = request.url_rule
    return rule is not None and rule.endpoint.rsplit(".", 1)[-1] in PUBLIC_ENDPOINTS


@lru_cache(maxsize=None)
def _document(token: bool) -> Dict[str, Any]:
    # Imported and built at the first request for it: most clients (one process per account
    # under the controller) never serve it, and the module and document stay out of their memory.
    from . import openapi
    return openapi.document(token=token)


def install(bp: Blueprint, api: Any) -> None:
    """Add get_qrcode, openapi.json and the console to ``bp`` (built for ``api``)."""
    token = bool(api.config.token)

    def get_qrcode() -> Response:
        png = api.client.qrcode
        if not png:
            backend = getattr(api.client, "backend", None)
            capabilities = getattr(backend, "capabilities", None)
            why = ("the client is not scanning" if backend is None or getattr(capabilities, "qr_login", True)
                   else f"the {backend.name} backend logs in through its server's own UI")
            raise ApiError(NO_QRCODE, "no qrcode: " + why, http_status=404,
                           extra={"state": _lookup.state_name(api.client)})
        resp = Response(png, content_type="image/png")
        # A new code replaces the old one at expiry; never let a cache show a dead one.
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["ETag"] = '"' + hashlib.sha1(png).hexdigest() + '"'
        return resp

    def get_openapi() -> Response:
        # Mounted with a url_prefix (or behind a proxy's SCRIPT_NAME), the paths hang below it.
        rule = request.url_rule.rule if request.url_rule is not None else OPENAPI_PATH
        base = request.script_root + rule[:-len(OPENAPI_PATH)]
        return json_response(dict(_document(token), servers=[{"url": base or "/"}]))

    bp.add_url_rule("/openqq/get_qrcode", "get_qrcode", get_qrcode, methods=["GET", "OPTIONS"],
                    provide_automatic_options=False)
    bp.add_url_rule(OPENAPI_PATH, "openapi_json", get_openapi, methods=["GET", "OPTIONS"],
                    provide_automatic_options=False)
    add_console(bp, methods=["GET", "OPTIONS"])


def console_file(name: str) -> Response:
    """One of the console's files (``name`` a key of :data:`CONSOLE_FILES`)."""
    filename, mimetype = CONSOLE_FILES[name]
    resp = send_file(os.path.join(STATIC_DIR, filename), mimetype=mimetype, max_age=0)
    resp.headers["Cache-Control"] = "no-cache"
    # The console loads only its own files and talks only to this server.
    resp.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' blob: data:; connect-src 'self'; "
        "style-src 'self'; script-src 'self'; frame-ancestors 'none'")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def add_console(target: Union[Blueprint, Flask], methods: List[str]) -> None:
    """Serve the console's files at :data:`CONSOLE_PATH` on ``target`` (a Blueprint or an app),
    under the endpoints :func:`is_public` knows."""
    for name in CONSOLE_FILES:
        target.add_url_rule(CONSOLE_PATH + name, _console_endpoint(name), console_file,
                            defaults={"name": name}, methods=methods, provide_automatic_options=False)
