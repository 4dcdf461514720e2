"""A thin WSGI layer in front of Flask for the cached read routes.

Once a read answer is cached (:mod:`._cache`), building a Flask request, matching the URL,
running the blueprint's hooks and a Response object cost several times more than sending
the bytes: on the large world's small answers that halved the requests/s a bare waitress
app reaches. This layer answers a plain ``GET`` of a read route itself, but only when it
would answer exactly what Flask answers; in every other case the request falls through to
Flask untouched. It answers only when:

* the method is GET, there is no body, the query string is valid UTF-8 without repeated
  keys, and it holds no parameter this layer does not understand (``datatype``/``callback``
  for JSONP, ``_``, ... all fall through);
* the token, when one is configured, is given and right (a refusal is Flask's to write);
* the client is ``running`` (the not-running answer is Flask's);
* the cache holds the answer for the contacts' *current* version (else Flask builds it).

``check_event`` (plain, or with a numeric ``since``) takes the same path under the same
rules but the running check (it answers in every state): it calls the route's own view,
so it waits and answers exactly as there, without Flask's cost per woken waiter.

A plain GET of a send route (``send_*_message``) under the same token rules is answered by
``views_send.fast_send`` (the route's own view, its errors rendered by the blueprint's
handlers) unless it asks for JSONP or the client is not running.

Headers are Flask's: Content-Type, Content-Length, Access-Control-Allow-Origin.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Hashable, Iterable, Optional
from urllib.parse import parse_qsl

from ..client import contacts as _lookup
from . import views_contacts, views_control, views_send
from ._http import JSON_TYPE, dumps, token_matches
from ._params import FRAMEWORK_PARAMS

Key = Callable[[Dict[str, str]], Optional[Hashable]]


def _plain(name: str) -> Key:
    # The get_* routes take no parameters; any but the token falls through.
    return lambda params: name if not params else None


def _search_friend(params: Dict[str, str]) -> Optional[Hashable]:
    if any(k in FRAMEWORK_PARAMS for k in params):
        return None
    return views_contacts.search_friend_key(params)


#: path -> cache key from the parameters (without access_token), None = fall through.
KEYS: Dict[str, Key] = {
    "/openqq/get_friend_info": _plain("friends"),
    "/openqq/get_group_info": _plain("groups"),
    "/openqq/get_group_basic_info": _plain("groups_basic"),
    "/openqq/get_discuss_info": _plain("discusses"),
    "/openqq/search_friend": _search_friend,
    "/openwx/search_friend": _search_friend,
}


CHECK_EVENT = "/openqq/check_event"

_PARSED_MAX = 512
_UNSEEN = object()


class FastReads:
    """WSGI middleware: ``app.wsgi_app = FastReads(app.wsgi_app, api)``. Thread-safe."""

    def __init__(self, app: Callable[..., Iterable[bytes]], api: Any) -> None:
        self.app = app
        self.api = api
        self._token: Optional[str] = getattr(api.config, "token", None) or None
        # Query string -> parsed parameters: pollers and bots repeat the same few queries, and
        # parsing was most of this layer's time on a search_friend (5 of 8.4 µs). Reads and
        # writes of a dict are atomic; a full cache is simply emptied.
        self._parsed: Dict[str, Optional[Dict[str, str]]] = {}

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        send = views_send.FAST_SENDS.get(path)
        if send is not None and environ.get("REQUEST_METHOD") == "GET":
            # A send is answered by views_send.fast_send once it ran: see there.
            params = self._params(environ)
            answer = None if params is None else views_send.fast_send(self.api, send, params, environ,
                                                                      start_response)
            if answer is not None:
                return answer
        key_of = KEYS.get(path)
        if (key_of is not None or path == CHECK_EVENT) and environ.get("REQUEST_METHOD") == "GET":
            body = self.cached_body(environ, key_of) if key_of is not None else self._check_event(environ)
            if body is not None:
                start_response("200 OK", [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))),
                                          ("Access-Control-Allow-Origin", "*")])
                return [body]
        return self.app(environ, start_response)

    def _params(self, environ: Dict[str, Any]) -> Optional[Dict[str, str]]:
        """The query's parameters but the token, if the request is plain and authorized."""
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        qs = environ.get("QUERY_STRING", "")
        if not qs:
            params: Dict[str, str] = {}
        else:
            parsed = self._parsed.get(qs, _UNSEEN)
            if parsed is _UNSEEN:
                parsed = _query(qs)
                if len(self._parsed) >= _PARSED_MAX:
                    self._parsed.clear()
                self._parsed[qs] = parsed
            if parsed is None:
                return None
            params = dict(parsed)     # callers take keys out of it
        given = params.pop("access_token", None)
        if self._token is not None and not self._authorized(environ, given):
            return None
        return params

    def check_event_params(self, environ: Dict[str, Any]) -> Optional[Dict[str, str]]:
        """The view's parameters (``{}`` or ``{"since": digits}``) of a check_event this
        layer may answer, or None when Flask must."""
        params = self._params(environ)
        if params is None:
            return None
        since = params.pop("since", None)
        if params or (since and not (since.isascii() and since.isdigit())):
            return None      # the view's 400 for a bad since is Flask's to write
        return {} if since is None else {"since": since}

    def _check_event(self, environ: Dict[str, Any]) -> Optional[bytes]:
        view_params = self.check_event_params(environ)
        if view_params is None:
            return None
        return dumps(views_control.check_event(self.api, view_params)).encode("utf-8")

    def cached_body(self, environ: Dict[str, Any], key_of: Key) -> Optional[bytes]:
        """The cached answer of a read route (``key_of`` from :data:`KEYS`) this layer may
        give, or None when Flask must answer. Never waits on a build."""
        params = self._params(environ)
        if params is None:
            return None
        key = key_of(params)
        if key is None:
            return None
        client = self.api.client
        if _lookup.state_name(client) != "running":
            return None
        return self.api.cache.current(client.contacts, key)

    def _authorized(self, environ: Dict[str, Any], param: Optional[str]) -> bool:
        return token_matches(self._token or "", environ.get("HTTP_AUTHORIZATION", ""),
                             environ.get("HTTP_X_AUTH_TOKEN"), param or "")


def _query(qs: str) -> Optional[Dict[str, str]]:
    """The query's parameters as werkzeug reads them, or None when in doubt."""
    if not qs:
        return {}
    try:
        pairs = parse_qsl(qs.encode("latin-1").decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        return None
    params = dict(pairs)
    return params if len(params) == len(pairs) else None
