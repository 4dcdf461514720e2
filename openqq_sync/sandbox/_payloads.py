"""The ``result`` payloads of the SmartQQ and qun.qq.com read endpoints (protocol doc 6).

Each builder is ``fn(data, grant, ...)`` and runs under the world lock through
``SandboxWorld.read``. Names of friends, groups and group members are HTML-escaped as the
service sent them (the client entity-decodes them, protocol doc 4); the account's own nick
and discussion names are sent raw (the client keeps them as sent).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from .generator import ADMIN, MEMBER, OWNER, WorldData

if TYPE_CHECKING:  # pragma: no cover
    from .world import Grant

def esc(s: Optional[str]) -> Optional[str]:
    return None if s is None else html.escape(s)


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
