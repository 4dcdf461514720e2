"""The OpenAPI 3.1 document of every route the Openqq blueprint serves.

Written by hand, route by route (``PATHS``): a route added to the blueprint without an
entry here fails ``tests/ecosystem/test_openapi.py``, so the document cannot drift from
the url_map silently. Pure data plus :func:`document`; no Flask, no I/O.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple

from .. import __version__

JSON = "application/json"


def _ref(name: str) -> Dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _param(name: str, description: str, *, schema: Optional[Dict[str, Any]] = None,
           required: bool = False, where: str = "query") -> Dict[str, Any]:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema or {"type": "string"}}


def _ok(description: str, schema: Dict[str, Any]) -> Dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_ID = {"type": ["string", "integer"]}

ERROR_CODES = {
    -6: "auth failure: token missing or wrong (HTTP 401)",
    -7: "a synchronous send got no result within send_timeout",
    100: "object not found (friend, group, member)",
    101: "group not found (send_group_message)",
    102: "discuss not found (send_discuss_message)",
    103: "group member not found (send_sess_message)",
    104: "discuss member not found (send_sess_message)",
    105: "neither group nor discuss given (send_sess_message)",
    200: "member id empty (kick/shutup)",
    201: "kick/shutup failed",
    400: "bad request: unreadable parameters, empty or too long content, shutup time missing, "
         "< 60 or > 2592000",
    404: "no QR code: the client is not scanning (get_qrcode, HTTP 404)",
    413: "request body over 1 MB (HTTP 413)",
    429: "send queue full: send_queue_size sends already wait (HTTP 429)",
    500: "internal error (HTTP 500; never a traceback)",
    503: "client not running yet (or any more); the answer carries its state",
}

SCHEMAS: Dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["code", "status"],
        "description": "The error envelope. HTTP status is 200 as in the original unless "
                       "noted in the code table: " + "; ".join(f"{k}: {v}" for k, v in ERROR_CODES.items()),
        "properties": {"code": {"type": "integer", "enum": sorted(ERROR_CODES)},
                       "status": _STR, "state": {**_STR, "description": "client state (503, 404)"},
                       "id": {"type": "null"}, "info": _STR},
    },
    "Result": {"type": "object", "required": ["code", "status"],
               "properties": {"code": {"type": "integer", "description": "0 = success"}, "status": _STR}},
    "User": {"type": "object", "description": "The logged-in account (API.md 获取用户数据).",
             "properties": {k: _ID if k in ("id", "uid") else _STR for k in (
                 "id", "uid", "account", "name", "face", "state", "client_type", "signature", "sex")}},
    "Friend": {"type": "object", "properties": {k: _ID if k in ("id", "uid") else _STR for k in (
        "id", "uid", "name", "markname", "category", "face", "state", "client_type",
        "is_vip", "vip_level", "flag")}},
    "GroupMember": {"type": "object", "properties": {k: _ID if k in ("id", "uid") else _STR for k in (
        "id", "uid", "name", "card", "role", "state", "client_type", "sex", "last_speak_time",
        "join_time", "qage", "city", "province", "country", "bad_record")}},
    "Group": {"type": "object", "properties": {
        **{k: _ID if k.endswith(("id", "uid")) else _STR for k in (
            "id", "uid", "code", "name", "markname", "role", "createtime", "owner_id", "owner_uid")},
        "max_member": _INT, "max_admin": _INT,
        "member": {"type": "array", "items": _ref("GroupMember")}}},
    "DiscussMember": {"type": "object", "properties": {k: _ID if k in ("id", "uid") else _STR for k in (
        "id", "uid", "name", "state", "client_type")}},
    "Discuss": {"type": "object", "properties": {
        "id": _ID, "name": _STR, "owner_id": _ID,
        "member": {"type": "array", "items": _ref("DiscussMember")}}},
    "SendResult": {"type": "object", "required": ["code", "status"],
                   "description": "code 0 = sent (protocol doc 8.7); async=1 answers "
                                  "{code 0, status 'request already in execution'} at once.",
                   "properties": {"id": _ID, "code": _INT, "status": _STR, "info": _STR}},
    "Message": {"type": "object", "description": "A received (class recv) or sent (class send) "
                                                 "message, as post_api and check_event report it.",
                "required": ["post_type", "type", "class", "id", "content"],
                "properties": {
                    "post_type": {"enum": ["receive_message", "send_message"]},
                    "type": {"enum": ["friend_message", "group_message", "discuss_message", "sess_message"]},
                    "class": {"enum": ["recv", "send"]}, "id": _ID, "time": _ID, "content": _STR,
                    **{k: _ID for k in ("sender_id", "sender_uid", "receiver_id", "receiver_uid",
                                        "group_id", "group_uid", "discuss_id")},
                    **{k: _STR for k in ("sender", "receiver", "group", "discuss")},
                    "from": {**_STR, "description": "send: who sent it (api, code, post_api reply)"},
                    "source": _STR, "ttl": _INT,
                    "code": {**_INT, "description": "send: result code (0 = sent)"},
                    "msg": {**_STR, "description": "send: result text (发送成功 ...)"}, "info": _STR,
                    "seq": {**_INT, "description": "cursor for check_event?since="}}},
    "Event": {"type": "object", "required": ["post_type", "event", "params"],
              "properties": {"post_type": {"const": "event"},
                             "event": {**_STR, "description": "login, stop, state_change, input_qrcode, "
                                                               "new_*/lose_*, *_property_change"},
                             "params": {"type": "array"}, "seq": _INT}},
    "ClientInfo": {"type": "object", "properties": {
        "code": _INT, "account": _STR, "pid": _INT, "starttime": _INT, "runtime": _INT, "os": _STR,
        "version": _STR, "http_debug": _INT, "log_encoding": {"type": "null"}, "log_path": _STR,
        "log_level": _STR, "state": {"enum": ["init", "loading", "scaning", "confirming", "updating",
                                              "running", "stop"]}, "status": _STR}},
    "ControlResult": {"type": "object", "properties": {
        "code": _INT, "account": _STR, "pid": _INT, "starttime": _INT, "runtime": _INT, "status": _STR}},
}

_BY = [_param("id", "the object's id (changes at every QR login)"),
       _param("uid", "the QQ number"),
       _param("name", "name (addition)"), _param("displayname", "markname or name (addition)")]
_CONTENT = _param("content", "message text; [微笑]-style faces are sent as faces", required=True)
_ASYNC = _param("async", "1 = answer at once, do not wait for the send result")
_GROUP = [_param("group_id", "the group's id"), _param("group_uid", "the group number")]
_MEMBERS = [_param("member_id", "member ids, comma separated"),
            _param("member_uid", "member QQ numbers, comma separated")]
_SEARCH = _param("criteria", "any attribute of the object (id, uid, name, markname, ...); "
                             "several are ANDed; unknown attributes match nothing",
                 schema={"type": "object", "additionalProperties": {"type": "string"}})
_SEARCH["style"], _SEARCH["explode"] = "form", True
_RUNNING = "Answers error 503 (with the state) unless the client is running."

Op = Tuple[str, str, List[Dict[str, Any]], Dict[str, Any]]  # summary, description, params, 200 schema

_SEND_FRIEND: Op = ("发送好友消息 Send a friend message", _RUNNING, _BY + [_CONTENT, _ASYNC], _ref("SendResult"))
_SEARCH_FRIEND: Op = ("搜索好友 Search friends", "An empty result answers {code 100, status 'object not found'}. "
                      + _RUNNING, [_SEARCH], {"oneOf": [{"type": "array", "items": _ref("Friend")}, _ref("Error")]})
_SEARCH_GROUP: Op = ("搜索群组 Search groups", "Members of a matched group are fetched before answering. "
                     + _RUNNING, [_SEARCH], {"oneOf": [{"type": "array", "items": _ref("Group")}, _ref("Error")]})
_STOP: Op = ("终止程序运行 Stop the client", "Stops 3 s after answering; `openqq run` then exits.",
             [], _ref("ControlResult"))

#: path -> (methods, operation). Methods exclude HEAD and OPTIONS (CORS pre-flight), which
#: every route answers.
PATHS: Dict[str, Tuple[Tuple[str, ...], Op]] = {
    "/openqq/get_user_info": (("GET",), ("获取用户数据 The logged-in account", _RUNNING, [], _ref("User"))),
    "/openqq/get_friend_info": (("GET",), ("获取好友数据 Every friend", _RUNNING, [],
                                           {"type": "array", "items": _ref("Friend")})),
    "/openqq/get_group_info": (("GET",), ("获取群组数据 Every group with its members", _RUNNING, [],
                                          {"type": "array", "items": _ref("Group")})),
    "/openqq/get_group_basic_info": (("GET",), ("获取群组基础数据 Every group, without members", _RUNNING,
                                                [], {"type": "array", "items": _ref("Group")})),
    "/openqq/get_discuss_info": (("GET",), ("获取讨论组数据 Every discussion group", _RUNNING, [],
                                            {"type": "array", "items": _ref("Discuss")})),
    "/openqq/search_friend": (("GET", "POST"), _SEARCH_FRIEND),
    "/openwx/search_friend": (("GET", "POST"), ("Search friends (the original's /openwx/ spelling)",
                                                _SEARCH_FRIEND[1], _SEARCH_FRIEND[2], _SEARCH_FRIEND[3])),
    "/openqq/search_group": (("GET", "POST"), _SEARCH_GROUP),
    "/openwx/search_group": (("GET", "POST"), ("Search groups (the original's /openwx/ spelling)",
                                               _SEARCH_GROUP[1], _SEARCH_GROUP[2], _SEARCH_GROUP[3])),
    "/openqq/send_friend_message": (("GET", "POST"), _SEND_FRIEND),
    "/openqq/send_group_message": (("GET", "POST"), (
        "发送群组消息 Send a group message", _RUNNING, _BY + [_CONTENT, _ASYNC], _ref("SendResult"))),
    "/openqq/send_discuss_message": (("GET", "POST"), (
        "发送讨论组消息 Send a discussion message", _RUNNING,
        [_param("id", "the discussion's id", required=True), _CONTENT, _ASYNC], _ref("SendResult"))),
    "/openqq/send_sess_message": (("GET", "POST"), (
        "发送临时消息 Send a temporary (sess) message",
        "To a group member (group_id|group_uid) or a discussion member (discuss_id), by id or uid. "
        + _RUNNING, _GROUP + [_param("discuss_id", "the discussion's id"),
                              _param("id", "the member's id"), _param("uid", "the member's QQ number"),
                              _CONTENT, _ASYNC], _ref("SendResult"))),
    "/openqq/kick_group_member": (("GET", "POST"), (
        "踢除群成员 Kick group members", _RUNNING, _GROUP + _MEMBERS, _ref("Result"))),
    "/openqq/shutup_group_member": (("GET", "POST"), (
        "群成员禁言 Mute group members", _RUNNING,
        _GROUP + _MEMBERS + [_param("time", "seconds, at least 60", schema={"type": "integer", "minimum": 60},
                                    required=True)], _ref("Result"))),
    "/openqq/check_event": (("GET", "POST"), (
        "查询事件消息 Long-poll messages and events",
        "Without `since`: the original's drain buffer (every buffered item, else waits up to "
        "check_event_timeout (30 s) for the next one, else []); items taken are gone for other "
        "callers. With `since=SEQ`: every retained item whose `seq` is above SEQ, waiting if "
        "there is none; nothing is removed, so several consumers each see everything. Works in "
        "every client state.",
        [_param("since", "sequence cursor: the highest `seq` already seen (0 at first)",
                schema={"type": "integer", "minimum": 0})],
        {"type": "array", "items": {"oneOf": [_ref("Message"), _ref("Event")]}})),
    "/openqq/get_client_info": (("GET", "POST"), (
        "获取程序运行信息 Process information and client state", "Works in every state.", [],
        _ref("ClientInfo"))),
    "/openqq/stop_client": (("GET", "POST"), _STOP),
    "/openwx/stop_client": (("GET", "POST"), ("Stop the client (the original's /openwx/ spelling)",
                                              _STOP[1], _STOP[2], _STOP[3])),
    "/openqq/relogin": (("GET",), ("Log in again (addition)",
                                   "Asks the client to log in again 3 s after answering.", [],
                                   _ref("ControlResult"))),
    "/openqq/get_qrcode": (("GET",), (
        "The login QR code (addition)",
        "The current login QR code as PNG while the client is in state scaning; else HTTP 404 "
        "with {code 404, status, state}. Behind the token when one is set.", [], {})),
    "/openqq/openapi.json": (("GET",), ("This document (addition)", "Never behind the token.", [],
                                        {"type": "object"})),
    "/openqq/console/": (("GET",), ("Web console (addition)", "HTML page: account, state, QR code, "
                                    "contact counts, live messages, send box. Never behind the token "
                                    "(it asks for it and sends it as Bearer).", [], {})),
    "/openqq/console/console.js": (("GET",), ("Web console script", "Never behind the token.", [], {})),
    "/openqq/console/console.css": (("GET",), ("Web console style sheet", "Never behind the token.", [], {})),
}

_MEDIA = {"/openqq/get_qrcode": "image/png", "/openqq/console/": "text/html",
          "/openqq/console/console.js": "text/javascript", "/openqq/console/console.css": "text/css"}
_PUBLIC = frozenset({"/openqq/openapi.json", "/openqq/console/", "/openqq/console/console.js",
                     "/openqq/console/console.css"})

DESCRIPTION = """The Openqq HTTP API of openqq-sync (a Python re-implementation of Mojo::Webqq's \
Openqq plugin; spec/API.md).

Conventions of the original, kept: parameters come from the query string or an urlencoded \
form (a JSON object body is also read); answers are `application/json;charset=UTF-8` with raw \
UTF-8; errors use the envelope `{"code", "status"}` with HTTP 200 unless a code says otherwise; \
`datatype=jsonp&callback=NAME` wraps any JSON answer; OPTIONS anywhere is a CORS pre-flight; \
an unknown path or method answers HTTP 403 `api not found` (text/html). Bodies over 1 MB \
answer 413.

Browser rules (docs/security.md): with a token every answer carries \
`Access-Control-Allow-Origin: *`; without one only the origins of `--cors-origins` get it, and \
a Host that is not loopback or in `--allowed-hosts`, or a request a browser marks as coming \
from another site (`Origin`, `Sec-Fetch-Site`), answers HTTP 403 \
`{"code": 403, "status": "...", "option": "--allowed-hosts"}` (or `--cors-origins`).

When a token is configured every route except the console and this document needs it, as \
`Authorization: Bearer TOKEN`, `X-Auth-Token: TOKEN` or `access_token=TOKEN`; a missing or \
wrong token answers HTTP 401 `{"code": -6, "status": "auth failure"}`."""


def _operation(path: str, methods: Tuple[str, ...], op: Op, secured: bool) -> Dict[str, Any]:
    summary, description, params, schema = op
    media = _MEDIA.get(path)
    if media:
        responses: Dict[str, Any] = {
            "200": {"description": summary, "content": {media: {"schema": {"type": "string"}}}}}
    else:
        responses = {"200": _ok(summary, copy.deepcopy(schema))}
    if not media:
        responses["default"] = _ok("error envelope", _ref("Error"))
    if path == "/openqq/get_qrcode":
        responses["404"] = _ok("no QR code: the client is not scanning", _ref("Error"))
    if secured:
        responses["401"] = _ok("token missing or wrong", _ref("Error"))
    out: Dict[str, Any] = {}
    for method in methods:
        operation: Dict[str, Any] = {
            "summary": summary, "description": description,
            "operationId": path.strip("/").replace("/", "_").replace(".", "_") + "_" + method.lower(),
            "tags": [path.split("/")[1]], "responses": copy.deepcopy(responses)}
        if params:
            operation["parameters"] = copy.deepcopy(params)
        if method == "POST" and params:
            props = {p["name"]: p["schema"] for p in params if p["name"] != "criteria"}
            operation["requestBody"] = {"required": False, "content": {
                "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": props,
                                                                 "additionalProperties": {"type": "string"}}},
                JSON: {"schema": {"type": "object", "properties": props}}}}
        if not secured:
            operation["security"] = []
        out[method.lower()] = operation
    return out


def document(*, token: bool = False) -> Dict[str, Any]:
    """The OpenAPI 3.1 document; ``token`` adds the security requirement to the guarded routes."""
    paths = {path: _operation(path, methods, op, token and path not in _PUBLIC)
             for path, (methods, op) in PATHS.items()}
    doc: Dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "openqq-sync Openqq API", "version": __version__, "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": copy.deepcopy(SCHEMAS), "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "header": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"},
            "query": {"type": "apiKey", "in": "query", "name": "access_token"}}},
    }
    if token:
        doc["security"] = [{"bearer": []}, {"header": []}, {"query": []}]
    return doc
