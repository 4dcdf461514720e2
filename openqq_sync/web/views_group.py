"""Group management: kick and mute members (API.md 群组管理相关; protocol doc 9, 11.6).

``time`` of shutup_group_member is in **seconds**, at least 60, as ``spec/API.md`` says
(v2.2.7 used minutes; protocol doc 18). A successful kick answers its JSON (17, #4).
"""

from __future__ import annotations

from typing import Any, Dict, List

from ..client import contacts as _lookup
from ._routes import Api, route
from .errors import ApiError, not_running

SHUTUP_MIN_SECONDS = 60


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
    if not (raw.isascii() and raw.isdigit()) or int(raw) < SHUTUP_MIN_SECONDS:
        raise ApiError(400, "shutup time missing or error")
    members = _members(api, group, params)
    try:
        return _result(bool(api.client.shutup_group_member(group, members, int(raw))))
    except ValueError:
        return _result(False)
    except RuntimeError:
        raise not_running(api.client) from None
