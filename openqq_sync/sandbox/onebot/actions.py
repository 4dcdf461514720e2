"""The OneBot v11 actions the sandbox serves: ``ACTIONS[name](face, params) -> data``.

An action raises ``ActionError`` for a failure the server reports: ``BadParams`` (the bot's
parameters; WebSocket retcode 1400, HTTP retcode 400) or a failed operation (retcode 1200 on a
WebSocket, 200 over HTTP, as NapCat answers a handler's exception). Parameters arrive as JSON
values or, over HTTP forms and queries, as strings; ``_int`` and ``_bool`` accept both.
Shapes follow NapCat (onebot.md 2.2). Thread-safe: the world is read under its lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional

from ... import __version__
from . import message as msg

if TYPE_CHECKING:  # pragma: no cover
    from .face import OneBotFace


class ActionError(Exception):
    """A failed action: ``status: failed`` with the server's retcode for the transport."""

    def __init__(self, message: str, ws_retcode: int = 1200, http_retcode: int = 200) -> None:
        super().__init__(message)
        self.message, self.ws_retcode, self.http_retcode = message, ws_retcode, http_retcode


class BadParams(ActionError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 1400, 400)


def _int(p: Dict[str, Any], key: str, default: Any = ...) -> Any:
    v = p.get(key)
    if v is None or v == "":
        if default is ...:
            raise BadParams("Key: %s, Message: Expected required property" % key)
        return default
    if isinstance(v, bool):
        raise BadParams("Key: %s, Message: Expected number" % key)
    try:
        return int(v)
    except (TypeError, ValueError):
        raise BadParams("Key: %s, Message: Expected number" % key) from None


def _bool(p: Dict[str, Any], key: str) -> bool:
    return p.get(key) in (True, 1, "true", "1", "True")


def _sex(s: str) -> str:
    return s if s in ("male", "female") else "unknown"


def _friend(d: Any, f: Any) -> dict:
    # NapCat puts the nickname in remark when there is none (onebot.md 2.2).
    return {"user_id": f.qq, "nickname": f.nick, "remark": f.markname or f.nick, "sex": _sex(f.gender), "age": 0,
            "level": 0, "category_id": f.category, "birthday_year": 0, "birthday_month": 0, "birthday_day": 0,
            "phone_num": "", "email": "", "qid": "", "long_nick": f.lnick}


def _group(g: Any) -> dict:
    return {"group_id": g.number, "group_name": g.name, "group_remark": g.markname or "", "group_all_shut": 0,
            "member_count": len(g.members), "max_member_count": 2000 if len(g.members) > 500 else 500}


def _member(g: Any, m: Any) -> dict:
    return {"group_id": g.number, "user_id": m.qq, "nickname": m.nick, "card": m.card or "", "sex": _sex(m.gender),
            "age": 0, "area": "", "level": str(m.stat), "qq_level": 0, "join_time": m.join_time,
            "last_sent_time": m.last_speak_time, "title_expire_time": 0, "unfriendly": False,
            "card_changeable": True, "is_robot": False, "shut_up_timestamp": 0, "role": m.role, "title": ""}


def _the_group(d: Any, p: Dict[str, Any]) -> Any:
    g = d.groups.get(_int(p, "group_id"))
    if g is None:
        raise ActionError("群%s不存在" % p.get("group_id"))
    return g


def get_login_info(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    a = face.world.data.account
    return {"user_id": a.qq, "nickname": a.nick}


def get_friend_list(face: "OneBotFace", p: Dict[str, Any]) -> List[dict]:
    return face.world.read(lambda d: [_friend(d, f) for f in d.friends.values()])


def get_friends_with_category(face: "OneBotFace", p: Dict[str, Any]) -> List[dict]:
    def build(d: Any) -> List[dict]:
        out = []
        for i, name in sorted(d.categories.items()):
            buddies = [_friend(d, f) for f in d.friends.values() if f.category == i]
            out.append({"categoryId": i, "categorySortId": i, "categoryName": name,
                        "categoryMbCount": len(buddies), "onlineCount": 0, "buddyList": buddies})
        return out
    return face.world.read(build)


def get_group_list(face: "OneBotFace", p: Dict[str, Any]) -> List[dict]:
    return face.world.read(lambda d: [_group(g) for g in d.groups.values()])


def get_group_info(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return face.world.read(lambda d: _group(_the_group(d, p)))


def get_group_member_list(face: "OneBotFace", p: Dict[str, Any]) -> List[dict]:
    def build(d: Any) -> List[dict]:
        g = _the_group(d, p)
        return [_member(g, m) for m in g.members.values()]
    return face.world.read(build)


def get_group_member_info(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    def build(d: Any) -> dict:
        g = _the_group(d, p)
        m = g.members.get(_int(p, "user_id"))
        if m is None:
            raise ActionError("群成员%s不存在" % p.get("user_id"))
        return _member(g, m)
    return face.world.read(build)


def get_stranger_info(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    qq = _int(p, "user_id")

    def build(d: Any) -> dict:
        a = d.account
        if qq == a.qq:
            nick, sex, lnick, remark = a.nick, a.gender, a.lnick, ""
        elif qq in d.friends:
            f = d.friends[qq]
            nick, sex, lnick, remark = f.nick, f.gender, f.lnick, f.markname or ""
        else:
            m = next((g.members[qq] for g in d.groups.values() if qq in g.members), None)
            if m is None:
                raise ActionError("用户%s不存在" % qq)
            nick, sex, lnick, remark = m.nick, m.gender, "", ""
        return {"user_id": qq, "uid": "u_%d" % qq, "nickname": nick, "sex": _sex(sex), "age": 0, "qid": "",
                "long_nick": lnick, "reg_time": 0, "is_vip": False, "vip_level": 0, "remark": remark,
                "level": 0, "login_days": 0, "status": 20}
    return face.world.read(build)


def _send(face: "OneBotFace", p: Dict[str, Any], kind: Optional[str]) -> dict:
    try:
        segments = msg.parse(p.get("message"), p.get("auto_escape"))
    except msg.MessageError as e:
        raise BadParams(str(e)) from None
    if not segments:
        raise BadParams("消息体无法解析, 请检查是否发送了不支持的消息类型")
    if kind is None:
        kind = p.get("message_type") or ("group" if p.get("group_id") not in (None, "") else "private")
    if kind == "group":
        return face.send_message("group", _int(p, "group_id"), segments)
    if kind == "private":
        return face.send_message("private", _int(p, "user_id"), segments, via_group=_int(p, "group_id", None))
    raise BadParams("Key: message_type, Message: Expected private or group")


def send_private_msg(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return _send(face, p, "private")


def send_group_msg(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return _send(face, p, "group")


def send_msg(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return _send(face, p, None)


def delete_msg(face: "OneBotFace", p: Dict[str, Any]) -> None:
    face.recall(_int(p, "message_id"), operator_id=face.self_id)


def get_msg(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return face.get_message(_int(p, "message_id"))


def _admin(face: "OneBotFace", action: str, p: Dict[str, Any], seconds: Optional[int]) -> None:
    group_id, user_id = _int(p, "group_id"), _int(p, "user_id")
    ec, em = face.world.group_admin(action, group_id, {user_id: seconds})
    if ec:
        raise ActionError(em)


def set_group_ban(face: "OneBotFace", p: Dict[str, Any]) -> None:
    # NapCat's default duration is 0 (lift), not the spec's 1800 (onebot.md 2.2).
    _admin(face, "shutup", p, _int(p, "duration", 0))


def set_group_kick(face: "OneBotFace", p: Dict[str, Any]) -> None:
    _admin(face, "kick", p, None)


def set_group_card(face: "OneBotFace", p: Dict[str, Any]) -> None:
    ec, em = face.world.group_set_card(_int(p, "group_id"), _int(p, "user_id"), str(p.get("card") or "") or None)
    if ec:
        raise ActionError(em)


def set_group_leave(face: "OneBotFace", p: Dict[str, Any]) -> None:
    try:
        face.world.leave_group(_int(p, "group_id"))
    except KeyError:
        raise ActionError("群%s不存在" % p.get("group_id")) from None


def get_status(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return {"online": face.online, "good": True, "stat": {}}


def get_version_info(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return {"app_name": "openqq-sandbox", "app_version": __version__, "protocol_version": "v11"}


def can_send_image(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return {"yes": True}


def can_send_record(face: "OneBotFace", p: Dict[str, Any]) -> dict:
    return {"yes": False}


ACTIONS: Dict[str, Callable[["OneBotFace", Dict[str, Any]], Any]] = {
    f.__name__: f for f in (
        get_login_info, get_friend_list, get_friends_with_category, get_group_list, get_group_info,
        get_group_member_list, get_group_member_info, get_stranger_info, send_private_msg, send_group_msg,
        send_msg, delete_msg, get_msg, set_group_ban, set_group_kick, set_group_card, set_group_leave,
        get_status, get_version_info, can_send_image, can_send_record)}
