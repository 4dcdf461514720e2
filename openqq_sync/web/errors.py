"""One error envelope for the API, and the handlers that guarantee no traceback ever leaks.

Views raise :class:`ApiError`; everything else that escapes a view is logged and answered
with a JSON error as well. HTTP errors keep their status (401, 413, ...) except routing
misses, which answer the original's 403 ``api not found``.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Optional

from flask import Response
from werkzeug.exceptions import HTTPException

from ..client.contacts import state_name
from ._http import api_not_found, json_response

log = logging.getLogger(__name__)

#: Codes this implementation adds to the original's (documented in README.md, "The Openqq HTTP API").
NOT_RUNNING = 503     # the client is not in state "running" yet (or any more)
BAD_REQUEST = 400     # unreadable parameters; also the original's "shutup time" error
AUTH_FAILURE = -6     # the original's auth failure code
SEND_TIMEOUT = -7     # a sync send got no result within send_timeout
INTERNAL = 500


class ApiError(Exception):
    """An error answer: ``{"code": code, "status": status, **extra}`` with ``http_status``."""

    def __init__(self, code: int, status: str, *, http_status: int = 200,
                 extra: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(status)
        self.code = code
        self.status = status
        self.http_status = http_status
        self.extra = dict(extra or {})

    def to_dict(self) -> Dict[str, Any]:
        body: Dict[str, Any] = dict(self.extra)
        body.update(code=self.code, status=self.status)
        return body

    def response(self) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if self.http_status == 401 else None
        return json_response(self.to_dict(), self.http_status, headers)


def not_running(client: Any) -> ApiError:
    """The answer while the client is logging in (or stopped): at once, with the state."""
    return ApiError(NOT_RUNNING, "client not running", extra={"state": state_name(client)})


def auth_failure() -> ApiError:
    return ApiError(AUTH_FAILURE, "auth failure", http_status=401)


def handle_api_error(e: ApiError) -> Response:
    return e.response()


def handle_http_error(e: HTTPException) -> Response:
    if e.code in (404, 405):
        return api_not_found()
    if e.code == 413:
        return ApiError(413, "request body too large", http_status=413).response()
    if e.code == 400:
        return ApiError(BAD_REQUEST, "bad request", http_status=400).response()
    status = e.code or INTERNAL
    return ApiError(status, (e.name or "error").lower(), http_status=status).response()


def handle_exception(e: Exception) -> Response:
    if isinstance(e, HTTPException):
        return handle_http_error(e)
    if isinstance(e, ApiError):
        return e.response()
    log.exception("API request failed")
    return ApiError(INTERNAL, "internal error", http_status=500).response()


def register(target: Any) -> None:
    """Install the handlers on a Flask app or blueprint."""
    target.register_error_handler(ApiError, handle_api_error)
    target.register_error_handler(HTTPException, handle_http_error)
    target.register_error_handler(Exception, handle_exception)
