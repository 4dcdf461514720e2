"""What our loop-thread code (:mod:`._inline`, :mod:`._parking`) reads from a waitress request
and writes back: the few environ keys :class:`~._fastpath.FastReads` looks at, and a whole
200 answer with the very bytes waitress writes when a worker returns the same body.
"""

from __future__ import annotations

import time
from typing import Any, Dict, Tuple

from waitress.utilities import build_http_date

from ._http import JSON_TYPE

#: waitress's ``ident``, which ApiServer sets; waitress writes it as the Server header.
SERVER_IDENT = "openqq-sync"

_date: Tuple[int, str] = (0, "")


def environ_of(request: Any) -> Dict[str, Any]:
    """The keys of a WSGI environ that FastReads' token and parameter rules read, taken from
    a parsed waitress request (``HTTP_*`` header names as waitress spells them)."""
    headers = request.headers
    return {"QUERY_STRING": request.query, "CONTENT_LENGTH": str(request.content_length or ""),
            "HTTP_AUTHORIZATION": headers.get("AUTHORIZATION", ""),
            "HTTP_X_AUTH_TOKEN": headers.get("X_AUTH_TOKEN")}


def plain_keep_alive_get(request: Any) -> bool:
    """A GET without body, error or 100-continue, on an HTTP/1.1 connection kept open: the
    one case whose answer needs no Connection header and no closing."""
    return (request.command == "GET" and request.version == "1.1" and not request.error
            and not request.chunked and not request.expect_continue and not request.content_length
            and request.headers.get("CONNECTION", "").lower() in ("", "keep-alive"))


def ok_head(length: int) -> bytes:
    """The head waitress writes for FastReads' 200 with a body of ``length`` bytes: headers
    sorted, with Date and Server."""
    global _date
    now = int(time.time())
    if _date[0] != now:
        # One formatting per second; the tuple is swapped whole, so readers never see a mix.
        _date = (now, build_http_date(now))
    return (f"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nContent-Length: {length}\r\n"
            f"Content-Type: {JSON_TYPE}\r\nDate: {_date[1]}\r\nServer: {SERVER_IDENT}\r\n\r\n").encode("latin-1")


def ok_answer(body: bytes) -> bytes:
    """The whole HTTP answer (:func:`ok_head` and the body)."""
    return ok_head(len(body)) + body
