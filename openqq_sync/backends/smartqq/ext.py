"""The qun.qq.com / qinfo.clt.qq.com "ext" endpoints (protocol document 6.7 and 9).

They give real QQ numbers, group roles and member cards, and perform kick and shutup.
Every call is a form POST carrying ``bkn``, computed from the ``skey`` cookie; success is
``ec == 0``. Records are entity-decoded and cards cut as in the original.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any, Dict, Iterable, List, Optional, Tuple

import requests

from ._wire import R_QINFO, R_QINFO3, R_QUN, malformed_is_protocol_error
from .codec import entity_decode, safe_truncate
from .contacts import DEFAULT_CATEGORY, _decoded
from ...errors import ProtocolError, TransportError
from .hashes import bkn as _bkn
from .transport import Transport

log = logging.getLogger(__name__)

__all__ = ["bkn_of", "fetch_friends_ext", "fetch_groups_ext", "fetch_group_members_ext",
           "kick_members", "shutup_members"]

QUN = "http://qun.qq.com/cgi-bin/qun_mgr/"
QINFO = "http://qinfo.clt.qq.com/cgi-bin/qun_info/"
_ROLES = (("join", "attend"), ("manage", "manage"), ("create", "create"))

Record = Dict[str, Any]


def bkn_of(t: Transport) -> Optional[int]:
    """The csrf token from the current ``skey`` cookie, or ``None`` without one."""
    return _bkn(t.cookie("skey"))


def _post(t: Transport, url: str, form: Dict[str, Any], referer: str, *,
          session: Optional[requests.Session], attempts: int = 3) -> Record:
    token = bkn_of(t)
    if token is None:
        raise ProtocolError(None, None, "no skey cookie: ext endpoints unavailable")
    form = dict(form, bkn=token)
    data = t.json("POST", url, form=form, referer=referer, session=session, attempts=attempts,
                  timeout=t.config.model_update_timeout)
    if not isinstance(data, dict) or data.get("ec") != 0:
        ec = data.get("ec") if isinstance(data, dict) else None
        # ec codes are qun.qq.com's own, not SmartQQ retcodes: no registry lookup.
        raise ProtocolError(ec, data, "ext call failed (ec %s)" % (ec,))
    return data


@malformed_is_protocol_error
def fetch_friends_ext(t: Transport, *, session: Optional[requests.Session] = None) -> List[Record]:
    """``[{category, displayname, uid}]`` of every friend (qun_mgr/get_friend_list)."""
    data = _post(t, QUN + "get_friend_list", {}, R_QUN, session=session)
    result = data.get("result")
    out: List[Record] = []
    if not isinstance(result, dict):
        return out
    for index, cat in result.items():
        if not isinstance(cat, dict):
            continue
        gname = cat.get("gname")
        if gname is None and str(index) == "0":
            gname = DEFAULT_CATEGORY
        for m in cat.get("mems") or []:
            if isinstance(m, dict):
                out.append({"category": entity_decode(gname), "displayname": entity_decode(m.get("name")),
                            "uid": m.get("uin")})
    return out


@malformed_is_protocol_error
def fetch_groups_ext(t: Transport, *, session: Optional[requests.Session] = None) -> List[Record]:
    """``[{name, uid, owner_uid, role}]`` of every group (qun_mgr/get_group_list)."""
    data = _post(t, QUN + "get_group_list", {}, R_QUN, session=session)
    out: List[Record] = []
    for key, role in _ROLES:
        for g in data.get(key) or []:
            if isinstance(g, dict):
                out.append({"name": entity_decode(g.get("gn")), "uid": g.get("gc"),
                            "owner_uid": g.get("owner"), "role": role})
    return out


@malformed_is_protocol_error
def fetch_group_members_ext(t: Transport, group_uid: Any, user_uid: Any, *,
                            session: Optional[requests.Session] = None) -> List[Record]:
    """``[{uid, role, card, name, last_speak_time, join_time}]`` (qun_info/get_group_members).

    :raises ProtocolError: ``ec`` not 0 or ``mems`` not a list.
    """
    data = _post(t, QINFO + "get_group_members", {"gc": group_uid, "u": user_uid}, R_QINFO,
                 session=session)
    mems = data.get("mems")
    if not isinstance(mems, list):
        raise ProtocolError(data.get("ec"), data, "member ext without a mems list")
    owner = str(data.get("owner"))
    admins = {str(a) for a in data.get("adm") or []}
    cards = data.get("cards") if isinstance(data.get("cards"), dict) else {}
    times = data.get("times") if isinstance(data.get("times"), dict) else {}
    joins = data.get("join") if isinstance(data.get("join"), dict) else {}
    cut = t.config.group_member_card_cut_length
    out: List[Record] = []
    append = out.append
    for m in mems:
        if not isinstance(m, dict):
            continue
        uid = m.get("u")
        name = m.get("n")
        key = str(uid)
        card = cards.get(key)
        if card is not None:
            card = _card(card, cut) if type(card) is str else safe_truncate(entity_decode(card) or None, cut)
        append({
            "uid": uid,
            "role": "owner" if key == owner else "admin" if key in admins else "member",
            "card": card,
            "name": (_decoded(name) if "&" in name else name) if type(name) is str else entity_decode(name),
            "last_speak_time": times.get(key),
            "join_time": joins.get(key),
        })
    return out


@functools.lru_cache(maxsize=1 << 12)
def _card(card: str, cut: int) -> Optional[str]:
    # Cards repeat across a large world's members: cut once, shared by the members.
    return safe_truncate(entity_decode(card) or None, cut)


def kick_members(t: Transport, group_uid: Any, uids: Iterable[Any], *,
                 session: Optional[requests.Session] = None) -> bool:
    """Remove members from a group (qun_mgr/delete_group_member); ``True`` on ``ec == 0``."""
    ul = "|".join("" if u is None else str(u) for u in uids)
    return _action(t, QUN + "delete_group_member", {"gc": group_uid, "ul": ul, "flag": 0}, R_QUN,
                   session)


def shutup_members(t: Transport, group_uid: Any, targets: Iterable[Tuple[Any, int]], *,
                   session: Optional[requests.Session] = None) -> bool:
    """Mute members for the given seconds, 0 to unmute (qun_info/set_group_shutup).

    The 60-second minimum and the role rules are the caller's (section 9).
    """
    shutup_list = json.dumps([{"uin": uid, "t": int(secs)} for uid, secs in targets],
                             separators=(",", ":"))
    return _action(t, QINFO + "set_group_shutup", {"gc": group_uid, "shutup_list": shutup_list},
                   R_QINFO3, session)


def _action(t: Transport, url: str, form: Dict[str, Any], referer: str,
            session: Optional[requests.Session]) -> bool:
    try:
        _post(t, url, form, referer, session=session, attempts=max(1, t.config.ua_retry_times))
    except (ProtocolError, TransportError) as e:
        log.warning("%s failed: %s", url.rsplit("/", 1)[-1], e)
        return False
    return True
