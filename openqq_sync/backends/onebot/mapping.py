"""OneBot v11 objects and events -> Openqq records, items and contact events. Pure, no I/O.

The records have the keys of the Openqq JSON (``get_friend_info`` and friends), so the
contact store merges and diffs them as it does SmartQQ's. Decisions (docs/onebot.md):

* every ``id`` is the QQ number and equals ``uid`` (stable across reconnects); a group's
  ``code`` too;
* a friend's ``markname`` is its ``remark``, null when the remark repeats the nickname
  (NapCat fills an unset remark with the nickname); ``category`` is the friend's category
  name from ``get_friends_with_category`` where the server has it, else null;
* presence and client type are not served (no per-friend polling: risk control), so the
  constants ``offline``/``unknown``; avatar ``face``, ``flag``, VIP fields are 0;
* group ``role`` is the account's own role (owner/admin/member -> create/manage/attend),
  ``owner_id == owner_uid`` the member with role owner (both known once the members are);
  ``max_admin``, ``createtime``, ``level`` and ``memo`` are null (not in OneBot v11);
* a member's ``card`` is null when empty, ``bad_record`` the ``unfriendly`` flag, the
  place fields ``""`` (NapCat's ``area`` is always empty), ``qage`` null.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from .segments import NameOf, render

__all__ = [
    "friend_records",
    "friend_record",
    "user_record",
    "group_record",
    "group_roles",
    "member_record",
    "self_role",
    "message_item",
    "notice_change",
    "heartbeat_online",
]

Record = Dict[str, Any]

FRIEND_STATE = "offline"
CLIENT_TYPE = "unknown"
_SELF_ROLES = {"owner": "create", "admin": "manage", "member": "attend"}
_USER_NULLS = ("face", "client_type", "birthday", "city", "province", "country", "mobile", "phone",
               "email", "college", "occupation", "homepage", "blood", "personal")


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) else (None if value is None else str(value))


# -- contacts -----------------------------------------------------------------------------
def friend_record(friend: Mapping[str, Any], category: Optional[str] = None) -> Record:
    """One OneBot friend (``get_friend_list`` or a ``buddyList`` entry) as an Openqq friend."""
    uid = _int(friend.get("user_id"))
    name = _text(friend.get("nickname"))
    remark = _text(friend.get("remark"))
    return {
        "id": uid, "uid": uid, "name": name,
        "markname": remark if remark and remark != name else None,
        "category": category,
        "state": FRIEND_STATE, "client_type": CLIENT_TYPE,
        "face": 0, "flag": 0, "is_vip": 0, "vip_level": 0,
    }


def friend_records(answer: Any) -> List[Record]:
    """Friends from a ``get_friends_with_category`` answer (categories named) or a plain
    ``get_friend_list`` answer (no category); entries without a QQ number are skipped."""
    out: List[Record] = []
    for entry in answer if isinstance(answer, list) else []:
        if not isinstance(entry, dict):
            continue
        if isinstance(entry.get("buddyList"), list):
            category = _text(entry.get("categoryName"))
            out.extend(friend_record(f, category) for f in entry["buddyList"]
                       if isinstance(f, dict) and _int(f.get("user_id")) is not None)
        elif _int(entry.get("user_id")) is not None:
            out.append(friend_record(entry))
    return out


def user_record(login: Mapping[str, Any], profile: Optional[Mapping[str, Any]] = None,
                online: Optional[bool] = True) -> Record:
    """The account from ``get_login_info`` and, when the server gives it, the account's
    ``get_stranger_info`` (sex; NapCat's ``long_nick`` and birthday)."""
    uid = _int(login.get("user_id"))
    record: Record = {"id": uid, "uid": uid, "account": uid, "name": _text(login.get("nickname"))}
    record.update(dict.fromkeys(_USER_NULLS))
    record["state"] = "online" if online else "offline"
    profile = profile or {}
    record["sex"] = _text(profile.get("sex"))
    signature = _text(profile.get("long_nick"))
    record["signature"] = signature
    record["personal"] = signature
    year, month, day = (_int(profile.get("birthday_" + k)) for k in ("year", "month", "day"))
    if year and month and day:
        record["birthday"] = "%04d-%02d-%02d" % (year, month, day)
    return record


def member_record(member: Mapping[str, Any]) -> Record:
    """One ``get_group_member_list``/``_info`` entry as an Openqq group member."""
    uid = _int(member.get("user_id"))
    card = _text(member.get("card"))
    return {
        "id": uid, "uid": uid, "name": _text(member.get("nickname")), "card": card or None,
        "role": member.get("role") if member.get("role") in _SELF_ROLES else "member",
        "sex": _text(member.get("sex")),
        "join_time": _int(member.get("join_time")),
        "last_speak_time": _int(member.get("last_sent_time")),
        "city": _text(member.get("area")) or "", "province": "", "country": "",
        "bad_record": 1 if member.get("unfriendly") else 0,
        "qage": None, "state": FRIEND_STATE, "client_type": CLIENT_TYPE,
    }


def self_role(role: Any) -> Optional[str]:
    """The Openqq group ``role`` (create/manage/attend) of the account's member role."""
    return _SELF_ROLES.get(role) if isinstance(role, str) else None


def group_roles(members: Iterable[Mapping[str, Any]], self_id: Any) -> Record:
    """``role`` (the account's own) and ``owner_id``/``owner_uid`` found in a group's
    member records (:func:`member_record`); keys left out when not found, so a merge keeps
    what is known instead of reporting a change to null."""
    out: Record = {}
    me = _int(self_id)
    for m in members:
        if m.get("role") == "owner":
            out["owner_id"] = out["owner_uid"] = m.get("id")
        if me is not None and m.get("id") == me:
            out["role"] = self_role(m.get("role"))
    return out


def group_record(group: Mapping[str, Any], members: Optional[Iterable[Mapping[str, Any]]] = None,
                 self_id: Any = None) -> Record:
    """One ``get_group_list``/``get_group_info`` entry as an Openqq group; with its member
    records (:func:`member_record`) also the account's ``role`` and the owner."""
    gid = _int(group.get("group_id"))
    remark = _text(group.get("group_remark"))
    record: Record = {
        "id": gid, "uid": gid, "code": gid, "name": _text(group.get("group_name")),
        "markname": remark or None, "max_member": _int(group.get("max_member_count")),
        "max_admin": None, "createtime": None, "level": None, "memo": None,
    }
    if members is not None:
        record.update(group_roles(members, self_id))
    return record


# -- messages -----------------------------------------------------------------------------
def message_item(event: Mapping[str, Any], self_id: Any, name_of: Optional[NameOf] = None
                 ) -> Optional[Record]:
    """A ``message`` (or NapCat's own ``message_sent``) event as an Openqq poll item:
    ``{type, id, sender_id, receiver_id, via, time, content, raw_content[, group_id]}``.

    Private ``friend`` (and ``other``) -> ``friend_message``; private ``group`` (a group
    temporary session) -> ``sess_message`` via ``group`` (the group only where the server
    says which: NapCat's ``group_id``); group -> ``group_message``. None for anything
    else. Own messages have ``sender_id`` = the account and the peer as receiver.
    """
    kind = event.get("message_type")
    me = _int(self_id)
    user = _int(event.get("user_id"))
    own = event.get("post_type") == "message_sent" or (me is not None and user == me)
    content, raw = render(event.get("message"), name_of)
    item: Record = {"id": event.get("message_id"), "via": None, "time": _int(event.get("time")),
                    "content": content, "raw_content": raw}
    if kind == "group":
        item.update(type="group_message", group_id=_int(event.get("group_id")), sender_id=user,
                    receiver_id=me)
        return item
    if kind != "private":
        return None
    peer = _int(event.get("target_id")) if own else user
    if own and peer is None:
        return None
    item["sender_id"], item["receiver_id"] = (me, peer) if own else (user, me)
    if event.get("sub_type") == "group":
        item.update(type="sess_message", via="group", group_id=_int(event.get("group_id")))
    else:
        item["type"] = "friend_message"
    return item


# -- notices and meta events ---------------------------------------------------------------
Change = Tuple[str, Record]


def notice_change(event: Mapping[str, Any], self_id: Any) -> Optional[Change]:
    """What a notice means for the contacts, as ``(kind, fields)``; None when nothing.

    Kinds: ``new_group`` / ``lose_group`` ``{group_id}``; ``new_group_member`` /
    ``lose_group_member`` ``{group_id, user_id}``; ``new_friend`` ``{user_id}``;
    ``member_card`` ``{group_id, user_id, card}`` (NapCat ``group_card``); ``member_role``
    ``{group_id, user_id, role}`` (``group_admin``); ``group_name`` ``{group_id, name}``
    (NapCat ``notify``/``group_name``); ``offline`` ``{message}`` (NapCat ``bot_offline``).
    Recalls, bans, pokes and requests have no Openqq event.
    """
    notice = event.get("notice_type")
    sub = event.get("sub_type")
    me = _int(self_id)
    gid = _int(event.get("group_id"))
    uid = _int(event.get("user_id"))
    if notice == "bot_offline":
        return "offline", {"message": _text(event.get("message")) or _text(event.get("tag")) or ""}
    if notice == "friend_add" and uid is not None:
        return "new_friend", {"user_id": uid}
    if gid is None:
        return None
    if notice == "group_increase":
        if uid is not None and uid == me:
            return "new_group", {"group_id": gid}
        return ("new_group_member", {"group_id": gid, "user_id": uid}) if uid is not None else None
    if notice == "group_decrease":
        if sub in ("kick_me", "disband") or (uid is not None and uid == me):
            return "lose_group", {"group_id": gid}
        return ("lose_group_member", {"group_id": gid, "user_id": uid}) if uid is not None else None
    if notice == "group_card" and uid is not None:
        return "member_card", {"group_id": gid, "user_id": uid, "card": _text(event.get("card_new")) or None}
    if notice == "group_admin" and uid is not None and sub in ("set", "unset"):
        return "member_role", {"group_id": gid, "user_id": uid, "role": "admin" if sub == "set" else "member"}
    if notice == "notify" and sub == "group_name":
        return "group_name", {"group_id": gid, "name": _text(event.get("name_new"))}
    return None


def heartbeat_online(event: Mapping[str, Any]) -> Optional[bool]:
    """``status.online`` of a heartbeat meta event (None when it does not say)."""
    status = event.get("status")
    online = status.get("online") if isinstance(status, dict) else None
    return online if isinstance(online, bool) else None
