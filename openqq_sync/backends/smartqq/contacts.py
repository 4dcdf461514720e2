"""Contact fetchers of SmartQQ (protocol document 6.1-6.6, 6.9).

Each fetcher makes its request(s) and maps the answer into plain records (dicts) exactly
as the original did: renamed keys, entity-decoded names where the original decoded them
(never for the user's own nick nor for discussions), code tables applied, cards cut to
``group_member_card_cut_length`` bytes. Keys the service sends that the mapping does not
remove pass through. Fetchers raise instead of returning partial data; the core decides
what a failure means.

``blocking=True`` (login, lazy loads) uses the 15-second timeout and 3 attempts of the
original's blocking calls; ``blocking=False`` (periodic refresh) one attempt with the
default timeout. All fetchers are thread-safe given a ``session`` per thread.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Dict, List, Optional, Tuple

import requests

from ._wire import D1_WEB2, R_D, R_S, S_WEB2, malformed_is_protocol_error, r_form, unix_time
from .codec import entity_decode, safe_truncate
from ...errors import ProtocolError
from .hashes import friend_hash
from .login import Credentials
from .transport import Transport

__all__ = [
    "CODE2STATE", "CODE2CLIENT", "code2state", "code2client", "DEFAULT_CATEGORY",
    "fetch_user", "fetch_friends", "fetch_groups", "fetch_group_detail",
    "fetch_discusses", "fetch_discuss_detail",
]

Record = Dict[str, Any]

DEFAULT_CATEGORY = "我的好友"
CODE2STATE = {10: "online", 20: "offline", 30: "away", 40: "hidden", 50: "busy", 60: "callme",
              70: "silent"}
CODE2CLIENT = {1: "pc", 21: "mobile", 24: "iphone", 41: "web"}


def code2state(code: Any) -> str:
    """Group member ``stat`` code to a state word; anything unknown is ``online``."""
    return CODE2STATE.get(_int(code), "online")


def code2client(code: Any) -> str:
    """``client_type`` code to a word; anything unknown is ``unknown``."""
    return CODE2CLIENT.get(_int(code), "unknown")


@functools.lru_cache(maxsize=1 << 14)
def _decoded(text: str) -> str:
    # Names repeat across a large world's members: decoded once, and the members share
    # the one decoded string.
    return entity_decode(text)


@functools.lru_cache(maxsize=1 << 12)
def _card(card: str, cut: int) -> str:
    return safe_truncate(entity_decode(card), cut)


def _int(v: Any) -> Optional[int]:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _call(t: Transport, method: str, url: str, *, blocking: bool, session: Optional[requests.Session],
          **kw: Any) -> Any:
    if blocking:
        kw.setdefault("timeout", t.config.model_update_timeout)
        kw.setdefault("attempts", 3)
    return t.json(method, url, session=session, **kw)


def _result(data: Any, key: Optional[str] = None, *, check_retcode: bool = True) -> Any:
    """``data["result"]`` (or its ``key``), raising the retcode's error when it is missing."""
    if not isinstance(data, dict):
        raise ProtocolError(None, data, "answer is not a JSON object")
    code = data.get("retcode")
    result = data.get("result")
    if check_retcode and code != 0:
        raise ProtocolError.for_retcode(code, data)
    if key is not None:
        result = result.get(key) if isinstance(result, dict) else None
        if result is None:
            raise ProtocolError.for_retcode(code, data, "answer without result.%s" % key)
    elif result is None:
        raise ProtocolError.for_retcode(code, data, "answer without result")
    return result


def _by(items: Any, key: str) -> Dict[Any, Record]:
    return {i.get(key): i for i in items if isinstance(i, dict)} if isinstance(items, list) else {}


# --- 6.1 ------------------------------------------------------------------------------
@malformed_is_protocol_error
def fetch_user(t: Transport, creds: Credentials, *, blocking: bool = True,
               session: Optional[requests.Session] = None) -> Record:
    """The account itself (get_self_info2). Names are kept as sent (not decoded)."""
    data = _call(t, "GET", "%sget_self_info2?t=%d" % (S_WEB2, unix_time()), referer=R_S,
                 blocking=blocking, session=session)
    rec = dict(_result(data))
    rec["state"] = t.config.mode
    rec["name"] = rec.pop("nick", None)
    rec["client_type"] = "web"
    birthday = rec.get("birthday")
    if isinstance(birthday, dict):
        rec["birthday"] = "%s-%s-%s" % (birthday.get("year"), birthday.get("month"), birthday.get("day"))
    rec["signature"] = rec.pop("lnick", None)
    rec["sex"] = rec.pop("gender", None)
    rec["uid"] = creds.uid
    rec["id"] = rec.pop("uin", None)
    return rec


# --- 6.2 ------------------------------------------------------------------------------
@malformed_is_protocol_error
def fetch_online(t: Transport, creds: Credentials, *, blocking: bool = False,
                 session: Optional[requests.Session] = None) -> Dict[Any, Record]:
    """Presence of friends (get_online_buddies2): ``{uin: {"uin", "status", "client_type"}}``."""
    params = [("vfwebqq", creds.vfwebqq), ("clientid", creds.clientid),
              ("psessionid", creds.psessionid), ("t", unix_time())]
    data = _call(t, "GET", D1_WEB2 + "get_online_buddies2", params=params, referer=R_D,
                 blocking=blocking, session=session)
    return _by(_result(data), "uin")


@malformed_is_protocol_error
def fetch_friends(t: Transport, creds: Credentials, *, blocking: bool = True,
                  session: Optional[requests.Session] = None) -> List[Record]:
    """Friends (get_user_friends2) with presence (get_online_buddies2, may fail alone)."""
    body = r_form({"hash": friend_hash(creds.ptwebqq, creds.uid), "vfwebqq": creds.vfwebqq})
    data = _call(t, "POST", S_WEB2 + "get_user_friends2", form=body, referer=R_S,
                 blocking=blocking, session=session)
    result = _result(data)
    if not isinstance(result.get("friends"), list):
        raise ProtocolError(0, data, "answer without result.friends")
    try:
        online = fetch_online(t, creds, blocking=blocking, session=session)
    except Exception:  # noqa: BLE001 - presence is optional, as in the original
        online = {}
    categories = {c.get("index"): c.get("name") for c in result.get("categories") or []
                  if isinstance(c, dict)}
    categories.setdefault(0, DEFAULT_CATEGORY)
    marknames = _by(result.get("marknames"), "uin")
    vipinfo = _by(result.get("vipinfo"), "u")
    info = _by(result.get("info"), "uin")
    friends = []
    for entry in result["friends"]:
        if not isinstance(entry, dict):
            continue
        rec = dict(entry)
        uin = rec.pop("uin", None)
        index = rec.pop("categories", None)
        rec["id"] = uin
        presence = online.get(uin)
        rec["state"] = presence.get("status") if presence else "offline"
        rec["client_type"] = code2client(presence.get("client_type")) if presence else "unknown"
        rec["category"] = entity_decode(categories.get(index))
        who = info.get(uin, {})
        rec["name"] = entity_decode(who.get("nick"))
        rec["face"] = who.get("face")
        mark = marknames.get(uin)
        rec["markname"] = entity_decode(mark.get("markname")) if mark else None
        vip = vipinfo.get(uin)
        rec["is_vip"] = vip.get("is_vip") if vip else None
        rec["vip_level"] = vip.get("vip_level") if vip else None
        friends.append(rec)
    return friends


# --- 6.3 ------------------------------------------------------------------------------
@malformed_is_protocol_error
def fetch_groups(t: Transport, creds: Credentials, *, blocking: bool = True,
                 session: Optional[requests.Session] = None) -> List[Record]:
    """Groups (get_group_name_list_mask2, a GET with the ``r`` JSON in the query).

    The group's markname comes from its own entry or, unlike the original (bug 9), from the
    service's ``gmarklist``.
    """
    r = r_form({"hash": friend_hash(creds.ptwebqq, creds.uid), "vfwebqq": creds.vfwebqq})
    data = _call(t, "GET", S_WEB2 + "get_group_name_list_mask2", params=r, referer=R_S,
                 blocking=blocking, session=session)
    result = _result(data, check_retcode=False)
    names = result.get("gnamelist") if isinstance(result, dict) else None
    if not isinstance(names, list):
        raise ProtocolError.for_retcode(data.get("retcode"), data, "answer without result.gnamelist")
    marks = _by(result.get("gmarklist"), "uin")
    groups = []
    for entry in names:
        if not isinstance(entry, dict):
            continue
        rec = dict(entry)
        gid = rec.pop("gid", None)
        rec.pop("flag", None)
        rec["id"] = gid
        rec["name"] = entity_decode(rec.get("name"))
        mark = rec.get("markname")
        if mark is None and gid in marks:
            mark = marks[gid].get("markname")
        rec["markname"] = entity_decode(mark)
        groups.append(rec)
    return groups


# --- 6.4 ------------------------------------------------------------------------------
_GINFO_DROPPED = ("fingermemo", "face", "option", "class", "flag", "members", "gid", "owner")


@malformed_is_protocol_error
def fetch_group_detail(t: Transport, creds: Credentials, code: Any, *, blocking: bool = True,
                       session: Optional[requests.Session] = None) -> Tuple[Record, List[Record]]:
    """One group and its members (get_group_info_ext2), keyed by the group ``code``.

    :raises ProtocolError: no ``ginfo``, or ``minfo`` is not a list (the original then
        discards the whole answer).
    """
    params = [("gcode", code), ("vfwebqq", creds.vfwebqq), ("t", unix_time())]
    data = _call(t, "GET", S_WEB2 + "get_group_info_ext2", params=params, referer=R_S,
                 blocking=blocking, session=session)
    result = _result(data, check_retcode=False)
    ginfo = result.get("ginfo") if isinstance(result, dict) else None
    if not isinstance(ginfo, dict):
        raise ProtocolError.for_retcode(data.get("retcode"), data, "answer without result.ginfo")
    if not isinstance(result.get("minfo"), list):
        raise ProtocolError(data.get("retcode"), data, "group detail without a minfo list")
    group = {k: v for k, v in ginfo.items() if k not in _GINFO_DROPPED}
    group["id"] = ginfo.get("gid")
    group["owner_id"] = ginfo.get("owner")
    group["name"] = entity_decode(ginfo.get("name"))
    group["markname"] = entity_decode(ginfo.get("markname"))
    cut = t.config.group_member_card_cut_length
    cards = {c.get("muin"): c.get("card") for c in result.get("cards") or [] if isinstance(c, dict)}
    stats = _by(result.get("stats"), "uin")
    members = []
    append = members.append
    states, clients = CODE2STATE, CODE2CLIENT
    intern = sys.intern
    # The minfo entries are this call's own fresh objects: each becomes its member's record
    # in place (a large world has 100,000 of them) rather than through a copy. Texts that
    # repeat across members (sex, places) are shared: one string object each, not 100,000.
    for rec in result["minfo"]:
        if not isinstance(rec, dict):
            continue
        uin = rec.pop("uin", None)
        nick = rec.pop("nick", None)
        gender = rec.pop("gender", None)
        rec["id"] = uin
        rec["name"] = (_decoded(nick) if "&" in nick else nick) if type(nick) is str else entity_decode(nick)
        rec["sex"] = intern(gender) if type(gender) is str else gender
        place = rec.get("province")
        if place and type(place) is str:
            rec["province"] = intern(place)
        place = rec.get("country")
        if place and type(place) is str:
            rec["country"] = intern(place)
        place = rec.get("city")
        if place and type(place) is str:
            rec["city"] = intern(place)
        card = cards.get(uin)
        if card is None:
            rec["card"] = None
        else:
            rec["card"] = _card(card, cut) if type(card) is str else safe_truncate(entity_decode(card), cut)
        stat = stats.get(uin)
        if stat:
            code = stat.get("stat")
            rec["state"] = states.get(code, "online") if type(code) is int else code2state(code)
            code = stat.get("client_type")
            rec["client_type"] = clients.get(code, "unknown") if type(code) is int else code2client(code)
        else:
            rec["state"] = "offline"
            rec["client_type"] = "unknown"
        append(rec)
    return group, members


# --- 6.5, 6.6 -------------------------------------------------------------------------
@malformed_is_protocol_error
def fetch_discusses(t: Transport, creds: Credentials, *, blocking: bool = True,
                    session: Optional[requests.Session] = None) -> List[Record]:
    """Discussion groups (get_discus_list). Names are kept as sent."""
    params = [("clientid", creds.clientid), ("psessionid", creds.psessionid),
              ("vfwebqq", creds.vfwebqq), ("t", unix_time())]
    data = _call(t, "GET", S_WEB2 + "get_discus_list", params=params, referer=R_S,
                 blocking=blocking, session=session)
    names = _result(data, "dnamelist")
    out = []
    for entry in names if isinstance(names, list) else []:
        if isinstance(entry, dict):
            rec = dict(entry)
            rec["id"] = rec.pop("did", None)
            out.append(rec)
    return out


@malformed_is_protocol_error
def fetch_discuss_detail(t: Transport, creds: Credentials, did: Any, *, blocking: bool = True,
                         session: Optional[requests.Session] = None) -> Record:
    """One discussion (get_discu_info): ``{id, owner_id, name}`` plus ``member`` records."""
    params = [("did", did), ("vfwebqq", creds.vfwebqq), ("clientid", creds.clientid),
              ("psessionid", creds.psessionid), ("t", unix_time())]
    data = _call(t, "GET", D1_WEB2 + "get_discu_info", params=params, referer=R_D,
                 blocking=blocking, session=session)
    info = _result(data, "info")
    if not isinstance(info, dict):
        raise ProtocolError(0, data, "discussion detail without info")
    result = data["result"]
    rec: Record = {"id": info.get("did"), "owner_id": info.get("discu_owner"),
                   "name": info.get("discu_name")}
    nicks = _by(result.get("mem_info"), "uin")
    status = _by(result.get("mem_status"), "uin")
    mem_list = info.get("mem_list")
    if isinstance(mem_list, list) and mem_list:
        members = []
        for m in mem_list:
            if not isinstance(m, dict):
                continue
            uin = m.get("mem_uin")
            st = status.get(uin)
            state = st.get("status") if st else "offline"
            members.append({
                "id": uin,
                "name": nicks.get(uin, {}).get("nick"),
                "uid": m.get("ruin"),
                "state": sys.intern(state) if type(state) is str else state,
                "client_type": code2client(st.get("client_type")) if st else "unknown",
            })
        rec["member"] = members
    return rec
