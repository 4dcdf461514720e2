"""The API's HTTP rules: parameters in, UTF-8 JSON, JSONP, CORS and ``api not found`` out, the token.

CORS follows :mod:`openqq_sync.browser_rules`: with a token every origin is allowed, as the
original allowed it; without one only ``--cors-origins``.

The original answered every JSON with HTTP 200 (codes inside the JSON), an unknown route or
wrong method with 403 ``api not found`` as text/html, and ``OPTIONS`` anywhere with a CORS
pre-flight (protocol document 11.2). It merged query and form parameters; a JSON body is an
addition. Later sources win (JSON over form over query); a repeated key keeps its first value.
"""

from __future__ import annotations

import hmac
import io
import json
import re
import time
from typing import Any, Dict, Mapping, Optional

from flask import Request, Response, request
from werkzeug.wsgi import wrap_file

from ..browser_rules import BrowserRules, set_cors_headers
from . import errors  # a module reference: errors imports this module too

JSON_TYPE = "application/json;charset=UTF-8"
TEXT_TYPE = "text/html;charset=UTF-8"
PREFLIGHT = {
    "Access-Control-Allow-Methods": "OPTIONS, HEAD, GET, POST",
    "Access-Control-Allow-Headers": "X-Requested-With, X-Auth-Token, Content-Type, Content-Length, Authorization",
}
#: A JSONP callback must be a plain (dotted) identifier: anything else could inject script.
CALLBACK_RE = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$")
MAX_CALLBACK = 128
#: Parameters that steer the API itself and are never search criteria (section 17, #12).
FRAMEWORK_PARAMS = frozenset({"datatype", "callback", "jsoncallback", "async", "access_token",
                              "client", "_"})
#: Answers at least this long go to the server as a file (``wsgi.file_wrapper``), not copied.
FILE_WRAPPER_MIN = 256 * 1024


class RawJson:
    """A JSON answer already serialized (``bytes``, UTF-8)."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data


def cors(resp: Response, rules: BrowserRules) -> Response:
    """The one place that sets ``Access-Control-Allow-Origin`` (per the browser rules); every answer
    passes here."""
    set_cors_headers(resp.headers, rules, request.environ)
    return resp


def dumps(obj: Any) -> str:
    """Compact JSON with raw UTF-8 (Chinese is never ``\\u``-escaped)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str)


def json_response(obj: Any, status: int = 200, headers: Optional[Mapping[str, str]] = None, *,
                  as_file: bool = False) -> Response:
    """``obj`` as the API's JSON (a :class:`RawJson` is already serialized).

    :param as_file: the answer will not be rewritten (no JSONP): a large one may be handed
        to the server as a file.
    """
    body = obj.data if isinstance(obj, RawJson) else dumps(obj).encode("utf-8")
    if as_file and len(body) >= FILE_WRAPPER_MIN:
        # Large cached answers are handed over as a file: the server sends from it in place.
        resp = Response(wrap_file(request.environ, io.BytesIO(body)), status=status,
                        content_type=JSON_TYPE, direct_passthrough=True)
        resp.content_length = len(body)
    else:
        resp = Response(body, status=status, content_type=JSON_TYPE)
    if headers:
        resp.headers.update(headers)
    return resp


def api_not_found() -> Response:
    return Response(b"api not found", status=403, content_type=TEXT_TYPE)


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


# --- parameters ----------------------------------------------------------------------
def _text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise errors.ApiError(errors.BAD_REQUEST, f"parameter {key[:64]} must be text or a number", http_status=400)


def collect(req: Request) -> Dict[str, str]:
    """All parameters of ``req`` as text. Thread-safe (per request).

    :raises ApiError: a JSON body that is not valid UTF-8 JSON, or holds nested values.
    :raises werkzeug.exceptions.RequestEntityTooLarge: the body is over the limit.
    """
    params: Dict[str, str] = req.args.to_dict()      # the first value of a repeated key
    if not req.content_length and "HTTP_TRANSFER_ENCODING" not in req.environ:
        return params                                 # no body (every plain GET)
    if req.mimetype == "application/json" or req.mimetype.endswith("+json"):
        raw = req.get_data(cache=True)
        if raw.strip():
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):   # RecursionError: nested too deep
                raise errors.ApiError(errors.BAD_REQUEST, "invalid JSON body", http_status=400) from None
            if not isinstance(body, dict):
                raise errors.ApiError(errors.BAD_REQUEST, "JSON body must be an object", http_status=400)
            for key, value in body.items():
                if value is not None:
                    params[key] = _text(key, value)
    else:
        form = req.form
        for key in form:
            params[key] = form.get(key, "")
    return params


def truthy(value: Any) -> bool:
    """The original's test for ``async``: present, not empty and not ``"0"``."""
    return value not in (None, "", "0")


# --- the token -----------------------------------------------------------------------
def token_matches(token: str, authorization: str, x_auth_token: Optional[str], param: str) -> bool:
    """The API token check: a Bearer header, else X-Auth-Token, else the ``access_token``
    parameter, compared in constant time. Header values are the text WSGI gives (see
    _header_readings)."""
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
