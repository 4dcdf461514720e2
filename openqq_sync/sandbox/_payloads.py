"""The ``result`` payloads of the SmartQQ and qun.qq.com read endpoints (protocol doc 6).

Each builder is ``fn(data, grant, ...)`` and runs under the world lock through
``SandboxWorld.read``. Names of friends, groups and group members are HTML-escaped as the
service sent them (the client entity-decodes them, protocol doc 4); the account's own nick
and discussion names are sent raw (the client keeps them as sent).
"""

from __future__ import annotations

import functools
import html
import json
from json.encoder import encode_basestring as _json_str
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .generator import ADMIN, MEMBER, OWNER, WorldData

if TYPE_CHECKING:  # pragma: no cover
    from .world import Grant

def esc(s: Optional[str]) -> Optional[str]:
    return None if s is None else html.escape(s)


def dumps(obj: Any) -> str:
    """JSON text as every answer is written: compact, raw UTF-8 (protocol doc 16.5)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# The large group answers are written as text directly (``*_text`` below), byte for byte
# what ``dumps`` makes of the dict builders, at a fraction of the cost: building 100,000
# member dicts and encoding them was most of the sandbox's CPU during a large login, and on
# a shared machine that CPU is taken from the client logging in.

@functools.lru_cache(maxsize=1 << 16)
def _esc_text(s: Optional[str]) -> str:
    """``dumps(esc(s))``; names repeat across a world's members, hence the cache."""
    return "null" if s is None else _json_str(html.escape(s))


@functools.lru_cache(maxsize=256, typed=True)
def _small_text(value: Any) -> str:
    """``dumps(value)`` of the few values a field takes (gender, stat)."""
    return dumps(value)


def _int_text(value: Any) -> str:
    return str(value) if type(value) is int else dumps(value)


def _pid(d: WorldData, g: "Grant", qq: int) -> int:
    return qq if qq == d.account.qq else g.ids.to_id("person", qq)


def self_info(d: WorldData, g: "Grant") -> dict:
    a = d.account
    y, m, day = a.birthday
    return {"birthday": {"year": y, "month": m, "day": day}, "face": a.face, "phone": "", "occupation": "",
            "allow": 1, "college": "", "uin": a.qq, "blood": 0, "constel": 0, "lnick": a.lnick,
            "vfwebqq": g.vfwebqq, "homepage": "", "vip_info": 0, "city": a.city, "country": "中国",
            "personal": "", "shengxiao": 0, "nick": a.nick, "email": "", "province": a.province,
            "account": a.qq, "gender": a.gender, "mobile": ""}


def friends(d: WorldData, g: "Grant") -> dict:
    out: Dict[str, List[dict]] = {"friends": [], "marknames": [], "categories": [], "vipinfo": [], "info": []}
    for f in d.friends.values():
        uin = g.ids.to_id("person", f.qq)
        out["friends"].append({"flag": f.category * 4, "uin": uin, "categories": f.category})
        if f.markname is not None:
            out["marknames"].append({"uin": uin, "markname": esc(f.markname), "type": 0})
        out["vipinfo"].append({"vip_level": f.vip_level, "u": uin, "is_vip": f.is_vip})
        out["info"].append({"face": f.face, "flag": 8388608, "nick": esc(f.nick), "uin": uin})
    # Like the service: index 0 (我的好友) is implicit unless renamed.
    out["categories"] = [{"index": i, "sort": i, "name": esc(n)} for i, n in sorted(d.categories.items())
                         if i != 0 or n != "我的好友"]
    return out


def online_buddies(d: WorldData, g: "Grant") -> List[dict]:
    return [{"uin": g.ids.to_id("person", f.qq), "status": f.status, "client_type": f.client_type}
            for f in d.friends.values() if f.status]


def group_list(d: WorldData, g: "Grant") -> dict:
    names = []
    marks = []
    for grp in d.groups.values():
        gid = g.ids.to_id("gid", grp.number)
        entry: Dict[str, Any] = {"flag": 16777217 + grp.serial, "name": esc(grp.name), "gid": gid,
                                 "code": g.ids.to_id("code", grp.number)}
        if grp.markname is not None:
            # The client reads `markname` from the gnamelist entry (protocol doc 6.3, 16.5).
            entry["markname"] = esc(grp.markname)
            marks.append({"uin": gid, "markname": esc(grp.markname)})
        names.append(entry)
    return {"gnamelist": names, "gmarklist": marks, "gmasklist": []}


def group_number_of_code(d: WorldData, g: "Grant", code: Any) -> Optional[int]:
    number = g.ids.from_id("code", code)
    return number if number in d.groups else None


def group_detail(d: WorldData, g: "Grant", number: int) -> dict:
    grp = d.groups[number]
    members, minfo, stats, cards = [], [], [], []
    for m in grp.members.values():
        uin = _pid(d, g, m.qq)
        members.append({"muin": uin, "mflag": 0})
        minfo.append({"nick": esc(m.nick), "province": "", "gender": m.gender, "uin": uin, "country": "",
                      "city": ""})
        stats.append({"client_type": 1, "uin": uin, "stat": m.stat})
        if m.card:
            cards.append({"muin": uin, "card": esc(m.card)})
    ginfo = {"face": grp.face, "memo": esc(grp.memo), "class": 10011, "fingermemo": "", "code": g.ids.to_id("code", number),
             "createtime": grp.createtime, "flag": 16777217 + grp.serial, "level": grp.level, "name": esc(grp.name),
             "gid": g.ids.to_id("gid", number), "owner": _pid(d, g, grp.owner) if grp.owner else 0,
             "members": members, "option": 2}
    if grp.markname is not None:
        ginfo["markname"] = esc(grp.markname)
    return {"stats": stats, "minfo": minfo, "ginfo": ginfo, "cards": cards, "vipinfo": []}


def group_detail_text(d: WorldData, g: "Grant", number: int) -> str:
    """``dumps(group_detail(d, g, number))``, written directly."""
    grp = d.groups[number]
    me = d.account.qq
    members = list(grp.members.values())
    uins = g.ids.to_ids("person", [m.qq for m in members])
    muins, minfo, stats, cards = [], [], [], []
    esc_text, small_text = _esc_text, _small_text
    for m, uin in zip(members, uins):
        u = str(me if m.qq == me else uin)
        muins.append('{"muin":%s,"mflag":0}' % u)
        minfo.append(f'{{"nick":{esc_text(m.nick)},"province":"","gender":{small_text(m.gender)},'
                     f'"uin":{u},"country":"","city":""}}')
        stats.append(f'{{"client_type":1,"uin":{u},"stat":{small_text(m.stat)}}}')
        if m.card:
            cards.append(f'{{"muin":{u},"card":{esc_text(m.card)}}}')
    head = {"face": grp.face, "memo": esc(grp.memo), "class": 10011, "fingermemo": "",
            "code": g.ids.to_id("code", number), "createtime": grp.createtime,
            "flag": 16777217 + grp.serial, "level": grp.level, "name": esc(grp.name),
            "gid": g.ids.to_id("gid", number), "owner": _pid(d, g, grp.owner) if grp.owner else 0}
    tail: Dict[str, Any] = {"option": 2}
    if grp.markname is not None:
        tail["markname"] = esc(grp.markname)
    ginfo = '%s,"members":[%s],%s' % (dumps(head)[:-1], ",".join(muins), dumps(tail)[1:])
    return '{"stats":[%s],"minfo":[%s],"ginfo":%s,"cards":[%s],"vipinfo":[]}' % (
        ",".join(stats), ",".join(minfo), ginfo, ",".join(cards))


def discuss_list(d: WorldData, g: "Grant") -> dict:
    return {"dnamelist": [{"name": dc.name, "did": g.ids.to_id("did", dc.serial)} for dc in d.discusses.values()]}


def discuss_key_of_did(d: WorldData, g: "Grant", did: Any) -> Optional[str]:
    serial = g.ids.from_id("did", did)
    for dc in d.discusses.values():
        if dc.serial == serial:
            return dc.key
    return None


def discuss_detail(d: WorldData, g: "Grant", key: str) -> dict:
    dc = d.discusses[key]
    mem_list, mem_info, mem_status = [], [], []
    for qq, nick in dc.members.items():
        uin = _pid(d, g, qq)
        mem_list.append({"mem_uin": uin, "ruin": qq})
        mem_info.append({"uin": uin, "nick": nick})
        f = d.friends.get(qq)
        if f is not None and f.status:
            mem_status.append({"uin": uin, "status": f.status, "client_type": f.client_type})
    return {"info": {"did": g.ids.to_id("did", dc.serial), "discu_name": dc.name, "discu_owner": _pid(d, g, dc.owner),
                     "discu_topic": "", "info_seq": 1, "last_info_seq": 1, "mem_list": mem_list},
            "mem_info": mem_info, "mem_status": mem_status}


# ---- qun.qq.com / qinfo.clt.qq.com (ext) ----------------------------------------------
def ext_friends(d: WorldData, g: "Grant") -> dict:
    result: Dict[str, dict] = {}
    for i, name in sorted(d.categories.items()):
        entry: Dict[str, Any] = {"mems": []}
        if i != 0 or name != "我的好友":
            entry["gname"] = esc(name)
        result[str(i)] = entry
    for f in d.friends.values():
        result[str(f.category)]["mems"].append({"name": esc(f.markname if f.markname is not None else f.nick),
                                                "uin": f.qq})
    return {"ec": 0, "result": result}


def ext_groups(d: WorldData, g: "Grant") -> dict:
    out: Dict[str, Any] = {"ec": 0, "join": [], "manage": [], "create": []}
    me = d.account.qq
    for grp in d.groups.values():
        m = grp.members.get(me)
        role = m.role if m else MEMBER
        bucket = {OWNER: "create", ADMIN: "manage"}.get(role, "join")
        out[bucket].append({"gc": grp.number, "gn": esc(grp.name), "owner": grp.owner})
    return out


def ext_members(d: WorldData, g: "Grant", number: int) -> dict:
    grp = d.groups[number]
    out: Dict[str, Any] = {"ec": 0, "errcode": 0, "owner": grp.owner, "adm": [], "mems": [], "cards": {},
                           "times": {}, "join": {}, "levelname": {"1": "潜水", "2": "冒泡", "3": "吐槽"},
                           "max_member": 2000 if len(grp.members) <= 2000 else 3000, "max_admin": 10}
    for m in grp.members.values():
        if m.role == ADMIN:
            out["adm"].append(m.qq)
        out["mems"].append({"u": m.qq, "n": esc(m.nick), "g": 0})
        if m.card:
            out["cards"][str(m.qq)] = esc(m.card)
        out["times"][str(m.qq)] = m.last_speak_time
        out["join"][str(m.qq)] = m.join_time
    return out


def ext_members_text(d: WorldData, g: "Grant", number: int) -> str:
    """``dumps(ext_members(d, g, number))``, written directly."""
    grp = d.groups[number]
    members = list(grp.members.values())
    adm, mems, cards, times, joins = [], [], [], [], []
    esc_text, int_text = _esc_text, _int_text
    for m in members:
        q = int_text(m.qq)
        if m.role == ADMIN:
            adm.append(q)
        mems.append(f'{{"u":{q},"n":{esc_text(m.nick)},"g":0}}')
        key = _json_str(str(m.qq))
        if m.card:
            cards.append(f"{key}:{esc_text(m.card)}")
        times.append(f"{key}:{int_text(m.last_speak_time)}")
        joins.append(f"{key}:{int_text(m.join_time)}")
    return ('{"ec":0,"errcode":0,"owner":%s,"adm":[%s],"mems":[%s],"cards":{%s},"times":{%s},'
            '"join":{%s},"levelname":{"1":"潜水","2":"冒泡","3":"吐槽"},"max_member":%d,"max_admin":10}'
            % (_int_text(grp.owner), ",".join(adm), ",".join(mems), ",".join(cards), ",".join(times),
               ",".join(joins), 2000 if len(members) <= 2000 else 3000))


def ext_search_members(d: WorldData, g: "Grant", number: int, start: int, end: int) -> dict:
    grp = d.groups[number]
    role_code = {OWNER: 0, ADMIN: 1, MEMBER: 2}
    allm = list(grp.members.values())
    mems = [{"card": esc(m.card or ""), "flag": 0, "g": 0, "join_time": m.join_time,
             "last_speak_time": m.last_speak_time, "lv": {"level": 1, "point": 0}, "nick": esc(m.nick),
             "qage": 0, "role": role_code[m.role], "uin": m.qq} for m in allm[start:end + 1]]
    return {"ec": 0, "errcode": 0, "em": "", "adm_max": 10, "adm_num": sum(m.role == ADMIN for m in allm),
            "count": len(allm), "max_count": 2000, "mems": mems, "search_count": len(allm), "svr_time": 0,
            "vecsize": 1}
