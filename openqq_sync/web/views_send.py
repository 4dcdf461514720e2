"""Sending messages (API.md 消息发送相关; protocol doc 11.4).

A sync send waits on its SendHandle (at most ``send_timeout``) and answers
``{"id", "code", "status", "info"}`` (table 8.7); ``async=1`` answers at once. Unlike the
original, an empty ``content`` answers an error instead of hanging (17, #3), async
discussion sends do send (17, #1), and sess sends work in both forms (17, #2).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Optional

from ..client import contacts as _lookup
from ._http import CORS_ORIGIN, JSON_TYPE, dumps
from ._params import truthy
from ._routes import Api, View, route
from .errors import BAD_REQUEST, SEND_TIMEOUT, ApiError, handle_exception, not_running

ASYNC_ACCEPTED = {"code": 0, "status": "request already in execution"}


def _not_found(code: int, status: str) -> ApiError:
    return ApiError(code, status, extra={"id": None})


def _send(api: Api, params: Dict[str, str], verb: str, target: Any) -> Dict[str, Any]:
    content = params.get("content", "")
    if content == "":
        raise ApiError(BAD_REQUEST, "content empty", extra={"id": None})
    try:
        handle = getattr(api.client, verb)(target, content, from_="api")
    except ValueError as e:
        raise ApiError(BAD_REQUEST, str(e) or "content invalid", extra={"id": None}) from None
    except RuntimeError:
        raise not_running(api.client) from None
    if truthy(params.get("async")):
        return dict(ASYNC_ACCEPTED)
    try:
        msg = handle.wait(api.config.send_timeout)
    except TimeoutError:
        # The message stays queued and may still go out; its send_message report will tell.
        raise ApiError(SEND_TIMEOUT, "发送失败", extra={"id": None, "info": "发送超时"}) from None
    return {"id": msg.id, "code": msg.code, "status": msg.msg, "info": msg.info}


def _by_name(params: Dict[str, str]) -> Dict[str, Any]:
    return {k: params.get(k) for k in ("id", "uid", "name", "displayname")}


@route("/openqq/send_friend_message")
def send_friend_message(api: Api, params: Dict[str, str]) -> Any:
    friend = _lookup.find_friend(api.client, **_by_name(params))
    if friend is None:
        raise _not_found(100, "friend not found")
    return _send(api, params, "send_friend_message", friend)


@route("/openqq/send_group_message")
def send_group_message(api: Api, params: Dict[str, str]) -> Any:
    group = _lookup.find_group(api.client, **_by_name(params))
    if group is None:
        raise _not_found(101, "group not found")
    return _send(api, params, "send_group_message", group)


@route("/openqq/send_discuss_message")
def send_discuss_message(api: Api, params: Dict[str, str]) -> Any:
    discuss = _lookup.find_discuss(api.client, id=params.get("id"))
    if discuss is None:
        raise _not_found(102, "discuss not found")
    return _send(api, params, "send_discuss_message", discuss)


@route("/openqq/send_sess_message")
def send_sess_message(api: Api, params: Dict[str, str]) -> Any:
    member_keys = {"uid": params.get("uid"), "id": params.get("id")}
    if params.get("group_id") or params.get("group_uid"):
        group = _lookup.find_group(api.client, id=params.get("group_id"), uid=params.get("group_uid"))
        member = None
        if group is not None:
            member = _lookup.find_member(_lookup.group_members(api.client, group), **member_keys)
        if member is None:
            raise _not_found(103, "group member not found")
    elif params.get("discuss_id"):
        discuss = _lookup.find_discuss(api.client, id=params.get("discuss_id"))
        member = None
        if discuss is not None:
            member = _lookup.find_member(_lookup.discuss_members(api.client, discuss), **member_keys)
        if member is None:
            raise _not_found(104, "discuss member not found")
    else:
        # Two spaces before "not", as the original answered.
        raise _not_found(105, "discuss member or group member  not found")
    return _send(api, params, "send_sess_message", member)


#: The send routes the WSGI fast path (``web/_fastpath.py``) may answer without Flask.
FAST_SENDS: Dict[str, View] = {
    "/openqq/send_friend_message": send_friend_message,
    "/openqq/send_group_message": send_group_message,
    "/openqq/send_discuss_message": send_discuss_message,
    "/openqq/send_sess_message": send_sess_message,
}
# Parameters whose answer (JSONP) is the blueprint's to write.
_FLASKS = ("datatype", "callback", "jsoncallback")


def fast_send(api: Api, view: View, params: Dict[str, str], environ: Dict[str, Any],
              start_response: Callable[..., Any]) -> Optional[Iterable[bytes]]:
    """Answer a plain, authorized GET of a send route as the blueprint would, without Flask,
    or return None, having done nothing, for Flask to answer (JSONP; not running).

    Flask's request, URL match, hooks and Response were a quarter of the API's CPU per send.
    Once the view ran, the message may be queued: from there every outcome is answered here
    (an error with the blueprint's own handlers), never handed to Flask to send again.

    :param params: the query's parameters but the token (already checked).
    """
    if any(k in params for k in _FLASKS) or _lookup.state_name(api.client) != "running":
        return None
    try:
        body = dumps(view(api, params)).encode("utf-8")
    except ApiError as e:
        return e.response()(environ, start_response)
    except Exception as e:  # noqa: BLE001 - answered (and logged) as the blueprint does
        return handle_exception(e)(environ, start_response)
    start_response("200 OK", [("Content-Type", JSON_TYPE), ("Content-Length", str(len(body))),
                              *CORS_ORIGIN.items()])
    return [body]
