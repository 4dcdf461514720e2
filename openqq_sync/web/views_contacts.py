"""Reading and searching contacts (API.md 获取用户/好友/群组/讨论组数据, 搜索; protocol doc 11.3, 11.5)."""

from __future__ import annotations

from typing import Any, Dict, List

from ..client import contacts as _lookup
from ..model import Contact
from ._params import FRAMEWORK_PARAMS
from ._routes import GET, Api, route

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


def search_friend_key(criteria: Dict[str, str]) -> Any:
    """The cache key of a search_friend answer (the read fast path looks it up too)."""
    return ("search_friend", tuple(sorted(criteria.items())))


@route("/openqq/search_friend", "/openwx/search_friend")
def search_friend(api: Api, params: Dict[str, str]) -> Any:
    # An attribute no friend has matches nothing (never HTTP 500 as in the original).
    criteria = _criteria(params)
    contacts = api.client.contacts

    def build() -> Any:
        found = contacts.search_friends(**criteria)
        return [f.to_json() for f in found] if found else OBJECT_NOT_FOUND
    return api.cache.answer(contacts, search_friend_key(criteria), build)


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
