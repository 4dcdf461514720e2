"""Response shapes of the Openqq API: UTF-8 JSON, JSONP, CORS, ``api not found``.

The original answered every JSON with HTTP 200 (codes inside the JSON), an unknown route or
wrong method with 403 ``api not found`` as text/html, and ``OPTIONS`` anywhere with a CORS
pre-flight (protocol document 11.2).
"""

from __future__ import annotations

import hmac
import json
import re
import time
from typing import Any, Mapping, Optional

from flask import Response

JSON_TYPE = "application/json;charset=UTF-8"
TEXT_TYPE = "text/html;charset=UTF-8"
CORS_ORIGIN = {"Access-Control-Allow-Origin": "*"}
PREFLIGHT = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "OPTIONS, HEAD, GET, POST",
    "Access-Control-Allow-Headers": "X-Requested-With, X-Auth-Token, Content-Type, Content-Length, Authorization",
}
#: A JSONP callback must be a plain (dotted) identifier: anything else could inject script.
CALLBACK_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
MAX_CALLBACK = 128


class RawJson:
    """A JSON answer already serialized (``bytes``, UTF-8)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8 (Chinese is never ``\\u``-escaped)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(obj: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None) -> Response:
    """``obj`` as the API's JSON (a :class:`RawJson` is already serialized)."""
    body = obj.data if isinstance(obj, RawJson) else dumps(obj).encode("utf-8")
    resp = Response(body, status=status, content_type=JSON_TYPE)
    resp.headers.update(CORS_ORIGIN)
    if headers:
        resp.headers.update(headers)
    return resp


def api_not_found() -> Response:
    resp = Response(b"api not found", status=403, content_type=TEXT_TYPE)
    resp.headers.update(CORS_ORIGIN)
    return resp


def preflight() -> Response:
    resp = Response(b"", status=200)
    resp.headers.update(PREFLIGHT)
    return resp


def jsonp_callback(params: Mapping[str, str]) -> Optional[str]:
    """The callback name when the request asked for JSONP (``datatype=jsonp``), else None.

    :raises ValueError: the callback is not a plain identifier.
    """
    if params.get("datatype") != "jsonp":
        return None
    callback = params.get("callback") or f"jsoncallback{int(time.time())}"
    if len(callback) > MAX_CALLBACK or not CALLBACK_RE.match(callback):
        raise ValueError(callback)
    return callback


def wrap_jsonp(resp: Response, callback: str) -> Response:
    """``callback(<body>)``; the Content-Type stays as it was, as the original left it."""
    body = resp.get_data()
    resp.set_data(callback.encode("ascii") + b"(" + body + b")")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def token_matches(token: str, authorization: str, x_auth_token: Optional[str], param: str) -> bool:
    """The API token check, shared by the blueprint and the fast path so both refuse and
    admit alike: a Bearer header, else X-Auth-Token, else the ``access_token`` parameter,
    compared in constant time. Header values are the text WSGI gives (see _header_readings)."""
    want = token.encode("utf-8")
    if authorization[:7].lower() == "bearer ":
        # Only HTTP's own blanks: str.strip() would also take \x85 and \xa0, the last byte
        # of some UTF-8 characters (你 is e4 bd a0).
        readings = _header_readings(authorization[7:].strip(" \t"))
    elif x_auth_token is not None:
        readings = _header_readings(x_auth_token)
    else:
        readings = (param.encode("utf-8"),)
    # Every reading is compared, so the time taken does not depend on which one matched.
    matched = False
    for given in readings:
        matched |= hmac.compare_digest(given, want)
    return matched


def _header_readings(text: str) -> "tuple[bytes, ...]":
    """The bytes a header's text may stand for. WSGI hands a header over as its bytes decoded
    as latin-1: a client that sent UTF-8 (curl, most bots) meant those bytes, one that sent
    latin-1 text (Python's http.client, browsers' fetch) meant the characters."""
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:     # not from a WSGI server: already real text
        return (text.encode("utf-8"),)
    as_text = text.encode("utf-8")
    return (raw,) if as_text == raw else (raw, as_text)
