"""Request parameters: query string, urlencoded or multipart form, and a JSON object body.

The original merged query and form; a JSON body is an addition. Later sources win (JSON
over form over query); a repeated key keeps its first value. Every value is text.
"""

from __future__ import annotations

import json
from typing import Any, Dict

from flask import Request

from .errors import BAD_REQUEST, ApiError

#: Parameters that steer the API itself and are never search criteria (section 17, #12).
FRAMEWORK_PARAMS = frozenset({"datatype", "callback", "jsoncallback", "async", "access_token",
                              "client", "_"})


def _text(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise ApiError(BAD_REQUEST, f"parameter {key[:64]} must be text or a number", http_status=400)


def collect(request: Request) -> Dict[str, str]:
    """All parameters of ``request`` as text. Thread-safe (per request).

    :raises ApiError: a JSON body that is not valid UTF-8 JSON, or holds nested values.
    :raises werkzeug.exceptions.RequestEntityTooLarge: the body is over the limit.
    """
    params: Dict[str, str] = {}
    for key in request.args:
        params[key] = request.args.get(key, "")
    if request.mimetype == "application/json" or request.mimetype.endswith("+json"):
        raw = request.get_data(cache=True)
        if raw.strip():
            try:
                body = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                raise ApiError(BAD_REQUEST, "invalid JSON body", http_status=400) from None
            if not isinstance(body, dict):
                raise ApiError(BAD_REQUEST, "JSON body must be an object", http_status=400)
            for key, value in body.items():
                if value is not None:
                    params[key] = _text(key, value)
    else:
        form = request.form
        for key in form:
            params[key] = form.get(key, "")
    return params


def truthy(value: Any) -> bool:
    """The original's test for ``async``: present, not empty and not ``"0"``."""
    return value not in (None, "", "0")
