"""The routes of API.md as plain views, and the table the blueprint serves them from.

A view is ``view(api, params) -> JSON value``: it gets the :class:`Api` (client, config,
delivery) and the request's parameters as text, and returns what the route answers. The
blueprint does parsing, auth, the running check, JSON and JSONP (``web/blueprint.py``).

* contacts (API.md 获取用户/好友/群组/讨论组数据, 搜索; protocol doc 11.3, 11.5): answers are
  cached as bytes per contact-store version (``web/cache.py``);
* sending (API.md 消息发送相关; 11.4): a sync send waits on its SendHandle (at most
  ``send_timeout``) and answers ``{"id", "code", "status", "info"}`` (table 8.7); ``async=1``
  answers at once. Unlike the original, an empty ``content`` answers an error instead of
  hanging (17, #3), async discussion sends do send (17, #1), and sess sends work in both
  forms (17, #2);
* group management (API.md 群组管理相关; 9, 11.6): ``time`` of shutup_group_member is in
  **seconds**, at least 60, as ``spec/API.md`` says (v2.2.7 used minutes; 18); a successful
  kick answers its JSON (17, #4);
* check_event and client control (11.8, 11.9) answer in every client state: check_event only
  reads the event buffer, and the control routes are how one inspects or ends a client that
  is stuck logging in.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

from flask import request

from ..client import contacts as _lookup
from ..client.client import MAX_SHUTUP_SECONDS, Client
from ..client.sender import SendQueueFull
from ..config import Config
from ..model import Contact
from ..threads import spawn
from .cache import JsonCache
from .errors import BAD_REQUEST, SEND_QUEUE_FULL, SEND_TIMEOUT, ApiError, not_running
from .http import FRAMEWORK_PARAMS, truthy

log = logging.getLogger(__name__)

View = Callable[["Api", Dict[str, str]], Any]
GET = ("GET",)
GET_POST = ("GET", "POST")
#: The environ key of waitress's documented "has the client gone?" callable (waitress >= 2.0,
#: present when channel_request_lookahead > 0).
CLIENT_DISCONNECTED = "waitress.client_disconnected"


@dataclass(frozen=True)
class Route:
    rules: Tuple[str, ...]
    methods: Tuple[str, ...]
    view: View
    needs_running: bool


ROUTES: List[Route] = []


def route(*rules: str, methods: Tuple[str, ...] = GET_POST, needs_running: bool = True) -> Callable[[View], View]:
    """Register ``view`` under ``rules`` (``/openqq/...``) for ``methods``."""
    def deco(view: View) -> View:
        ROUTES.append(Route(tuple(rules), tuple(methods), view, needs_running))
        return view
    return deco


@dataclass
class Api:
    """What the views of one blueprint share. Thread-safe (views only read it).

    :param on_stop: called on the control thread after ``stop_client`` stopped the client
        (``openqq run`` stops its server and exits there).
    :param stop_delay: seconds between ``stop_client``/``relogin`` answering and acting (3 s).
    """

    client: Client
    config: Config
    delivery: Any
    on_stop: Optional[Callable[[], None]] = None
    stop_delay: float = 3.0
    control_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: bool = False
    control_threads: List[threading.Thread] = field(default_factory=list)
    cache: JsonCache = field(default_factory=JsonCache)
    closed: threading.Event = field(default_factory=threading.Event)

    def later(self, name: str, action: Callable[[], None]) -> None:
        """Run ``action`` on a named thread after ``stop_delay`` seconds, unless :meth:`close`
        comes first."""
        def run(ready: threading.Event) -> None:
            ready.set()
            if not self.closed.wait(self.stop_delay):
                action()
        with self.control_lock:
            if self.closed.is_set():
                return
            self.control_threads.append(spawn(self.config.account, name, run))

    def close(self, timeout: float = 5.0) -> None:
        """Drop the delayed actions not yet due and join their threads. Idempotent."""
        self.closed.set()
        with self.control_lock:
            threads = list(self.control_threads)
        current = threading.current_thread()
        for thread in threads:
            if thread is not current:
                thread.join(timeout)


# --- contacts --------------------------------------------------------------------------
OBJECT_NOT_FOUND = {"code": 100, "status": "object not found"}


@route("/openqq/get_user_info", methods=GET)
def get_user_info(api: Api, params: Dict[str, str]) -> Any:
    user = api.client.user
    return user.to_json() if user is not None else {}


@route("/openqq/get_friend_info", methods=GET)
def get_friend_info(api: Api, params: Dict[str, str]) -> Any:
    contacts = api.client.contacts
    return api.cache.answer(contacts, "friends", lambda: [f.to_json() for f in contacts.friends()])


@route("/openqq/get_group_info", methods=GET)
def get_group_info(api: Api, params: Dict[str, str]) -> Any:
    contacts = api.client.contacts
    return api.cache.answer(contacts, "groups", lambda: [g.to_json() for g in contacts.groups()])


@route("/openqq/get_group_basic_info", methods=GET)
def get_group_basic_info(api: Api, params: Dict[str, str]) -> Any:
    contacts = api.client.contacts
    # Contact.to_json leaves the member array out without building it (large groups).
    return api.cache.answer(contacts, "groups_basic", lambda: [Contact.to_json(g) for g in contacts.groups()])


@route("/openqq/get_discuss_info", methods=GET)
def get_discuss_info(api: Api, params: Dict[str, str]) -> Any:
    contacts = api.client.contacts
    return api.cache.answer(contacts, "discusses", lambda: [d.to_json() for d in contacts.discusses()])


def _criteria(params: Dict[str, str], *ignored: str) -> Dict[str, str]:
    """Every parameter except the framework's own (and ``ignored``) is a criterion."""
    return {k: v for k, v in params.items() if k not in FRAMEWORK_PARAMS and k not in ignored}


@route("/openqq/search_friend", "/openwx/search_friend")
def search_friend(api: Api, params: Dict[str, str]) -> Any:
    # An attribute no friend has matches nothing (never HTTP 500 as in the original).
    criteria = _criteria(params)
    contacts = api.client.contacts

    def build() -> Any:
        found = contacts.search_friends(**criteria)
        return [f.to_json() for f in found] if found else OBJECT_NOT_FOUND
    return api.cache.answer(contacts, ("search_friend", tuple(sorted(criteria.items()))), build)


@route("/openqq/search_group", "/openwx/search_group")
def search_group(api: Api, params: Dict[str, str]) -> Any:
    found = api.client.contacts.search_groups(**_criteria(params, "member"))
    if not found:
        return OBJECT_NOT_FOUND
    out: List[Dict[str, Any]] = []
    for group in found:
        # As the original: a matched group's members are fetched (blocking) before answering.
        if not group.members:
            _lookup.group_members(api.client, group)
            group = _lookup.find_group(api.client, id=group.id) or group
        out.append(group.to_json())
    return out


# --- sending ---------------------------------------------------------------------------
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
    except SendQueueFull:
        raise ApiError(SEND_QUEUE_FULL, "send queue full", http_status=429, extra={"id": None}) from None
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
    member: Optional[Contact]
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


# --- group management ----------------------------------------------------------------
SHUTUP_MIN_SECONDS = 60
SHUTUP_MAX_SECONDS = MAX_SHUTUP_SECONDS


def _group(api: Api, params: Dict[str, str]) -> Any:
    group = _lookup.find_group(api.client, id=params.get("group_id"), uid=params.get("group_uid"))
    if group is None:
        raise ApiError(100, "object not found")
    return group


def _members(api: Api, group: Any, params: Dict[str, str]) -> List[Any]:
    if params.get("member_id"):
        key, raw = "id", params["member_id"]
    else:
        key, raw = "uid", params.get("member_uid", "")
    ids = [part.strip() for part in raw.split(",") if part.strip()]
    if not ids:
        raise ApiError(200, "member id empty")
    members = _lookup.group_members(api.client, group)
    found = []
    for wanted in ids:
        member = _lookup.find_member(members, **{key: wanted})
        if member is None:
            raise ApiError(100, f"member {wanted} not found")
        found.append(member)
    return found


def _result(ok: bool) -> Dict[str, Any]:
    return {"code": 0, "status": "success"} if ok else {"code": 201, "status": "failure"}


@route("/openqq/kick_group_member")
def kick_group_member(api: Api, params: Dict[str, str]) -> Any:
    group = _group(api, params)
    members = _members(api, group, params)
    try:
        return _result(bool(api.client.kick_group_member(group, members)))
    except RuntimeError:
        raise not_running(api.client) from None


@route("/openqq/shutup_group_member")
def shutup_group_member(api: Api, params: Dict[str, str]) -> Any:
    group = _group(api, params)
    raw = params.get("time", "")
    if not (raw.isascii() and raw.isdigit()) or not SHUTUP_MIN_SECONDS <= int(raw) <= SHUTUP_MAX_SECONDS:
        raise ApiError(400, "shutup time missing or error")
    members = _members(api, group, params)
    try:
        return _result(bool(api.client.shutup_group_member(group, members, int(raw))))
    except ValueError:
        return _result(False)
    except RuntimeError:
        raise not_running(api.client) from None


# --- check_event and client control ---------------------------------------------------
@route("/openqq/check_event", needs_running=False)
def check_event(api: Api, params: Dict[str, str]) -> Any:
    buffer = api.delivery.buffer
    timeout = api.config.check_event_timeout
    since = params.get("since")
    # A caller that went away takes nothing: its item stays for the next reader (issue 13).
    gone = request.environ.get(CLIENT_DISCONNECTED)
    if since is None or since == "":
        return buffer.take(timeout, gone=gone)
    if not (since.isascii() and since.isdigit()):
        raise ApiError(BAD_REQUEST, "since must be a sequence number")
    return buffer.since(int(since), timeout, gone=gone)


def _times(api: Api) -> Dict[str, Any]:
    client = api.client
    starttime = int(client.starttime or time.time())   # None until the client starts
    return {"pid": client.pid, "starttime": starttime,
            "runtime": max(0, int(time.time()) - starttime)}


@route("/openqq/get_client_info", needs_running=False)
def get_client_info(api: Api, params: Dict[str, str]) -> Any:
    from .. import __version__  # at call time: the package __init__ may import this module

    config = api.config
    backend = api.client.describe()
    return {"code": 0, "account": config.account, **_times(api), "os": sys.platform,
            "version": __version__, "http_debug": 0, "log_encoding": None,
            "log_path": config.log_path or "", "log_level": config.log_level,
            # Additions: which backend drives the account and through which server.
            **{k: v for k, v in backend.items() if k not in ("code", "status", "state")},
            "state": _lookup.state_name(api.client), "status": "success"}


@route("/openqq/stop_client", "/openwx/stop_client", needs_running=False)
def stop_client(api: Api, params: Dict[str, str]) -> Any:
    times = _times(api)
    with api.control_lock:
        first, api.stopping = not api.stopping, True
    if first:
        log.info("stop_client: stopping in %.0f s", api.stop_delay)
        api.later("stop", lambda: _stop(api))
    return {"code": 0, "account": api.config.account, **times,
            "status": f"success, client({times['pid']}) will stop in {api.stop_delay:g} seconds"}


def _stop(api: Api) -> None:
    api.client.stop()
    if api.on_stop is not None:
        api.on_stop()


@route("/openqq/relogin", methods=GET, needs_running=False)
def relogin(api: Api, params: Dict[str, str]) -> Any:
    pid = _times(api)["pid"]
    log.info("relogin: asking the client in %.0f s", api.stop_delay)
    api.later("relogin", api.client.request_relogin)
    return {"code": 0, "account": api.config.account,
            "status": f"success, client({pid}) will relogin in {api.stop_delay:g} seconds"}
