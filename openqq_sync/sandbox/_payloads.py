"""The ``result`` payloads of the SmartQQ and qun.qq.com read endpoints (protocol doc 6).

Each builder is ``fn(data, grant, ...)`` and runs under the world lock through
``SandboxWorld.read``. Names of friends, groups and group members are HTML-escaped as the
service sent them (the client entity-decodes them, protocol doc 4); the account's own nick
and discussion names are sent raw (the client keeps them as sent).
"""

from __future__ import annotations

import html
import json
import operator
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
# a shared machine that CPU is taken from the client logging in. They work on columns (one
# list per field) so that most of the per-member work runs inside map() and join().

_ESC_TEXTS: Dict[Any, str] = {}   # name -> dumps(esc(name)); names repeat across members
_ESC_TEXTS_LIMIT = 1 << 18


def _esc_text(s: Optional[str]) -> str:
    """``dumps(esc(s))``."""
    return "null" if s is None else _json_str(html.escape(s))


def _esc_texts(values: List[Optional[str]]) -> List[str]:
    """``dumps(esc(v))`` of each value, from a cache shared by every world (a name's text
    never changes; renames add entries, up to a limit)."""
    cache = _ESC_TEXTS
    try:
        return list(map(cache.__getitem__, values))
    except KeyError:
        pass
    if len(cache) < _ESC_TEXTS_LIMIT:
        for value in set(values):
            if value not in cache:
                cache[value] = _esc_text(value)
    return [cache[v] if v in cache else _esc_text(v) for v in values]


def _texts(values: List[Any]) -> List[str]:
    """``dumps`` of each value, once per distinct value (a field of few values: gender,
    stat, times); whole numbers the quick way."""
    kinds = set(map(type, values))
    if kinds <= {int}:
        return list(map(str, values))
    if len(kinds) == 1:   # one type: equal values encode alike (no 1 / True / 1.0 mix)
        try:
            table = {v: dumps(v) for v in set(values)}
        except TypeError:  # unhashable
            pass
        else:
            return list(map(table.__getitem__, values))
    return [dumps(v) for v in values]


#: qun.qq.com's ``g`` of a member: 0 male, 1 female, 255 not given (minfo's ``gender`` words).
EXT_GENDER = {"male": 0, "female": 1}


def _column(members: List[Any], name: str) -> List[Any]:
    return list(map(operator.attrgetter(name), members))


def _pid(d: WorldData, g: "Grant", qq: int) -> int:
    return qq if qq == d.account.qq else g.ids.to_id("person", qq)


def self_info(d: WorldData, g: "Grant") -> Dict[str, Any]:
    a = d.account
    y, m, day = a.birthday
    return {"birthday": {"year": y, "month": m, "day": day}, "face": a.face, "phone": "", "occupation": "",
            "allow": 1, "college": "", "uin": a.qq, "blood": 0, "constel": 0, "lnick": a.lnick,
            "vfwebqq": g.vfwebqq, "homepage": "", "vip_info": 0, "city": a.city, "country": "中国",
            "personal": "", "shengxiao": 0, "nick": a.nick, "email": "", "province": a.province,
            "account": a.qq, "gender": a.gender, "mobile": ""}


def friends(d: WorldData, g: "Grant") -> Dict[str, Any]:
    out: Dict[str, List[Dict[str, Any]]] = {"friends": [], "marknames": [], "categories": [], "vipinfo": [], "info": []}
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


def online_buddies(d: WorldData, g: "Grant") -> List[Dict[str, Any]]:
    return [{"uin": g.ids.to_id("person", f.qq), "status": f.status, "client_type": f.client_type}
            for f in d.friends.values() if f.status]


def group_list(d: WorldData, g: "Grant") -> Dict[str, Any]:
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


def group_detail(d: WorldData, g: "Grant", number: int) -> Dict[str, Any]:
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
    ginfo = {"face": grp.face, "memo": esc(grp.memo), "class": 10011, "fingermemo": "",
             "code": g.ids.to_id("code", number),
             "createtime": grp.createtime, "flag": 16777217 + grp.serial, "level": grp.level, "name": esc(grp.name),
             "gid": g.ids.to_id("gid", number), "owner": _pid(d, g, grp.owner) if grp.owner else 0,
             "members": members, "option": 2}
    if grp.markname is not None:
        ginfo["markname"] = esc(grp.markname)
    return {"stats": stats, "minfo": minfo, "ginfo": ginfo, "cards": cards, "vipinfo": []}


def group_detail_text(d: WorldData, g: "Grant", number: int) -> str:
    """``dumps(group_detail(d, g, number))``, written directly."""
    grp = d.groups[number]
    members = list(grp.members.values())
    qqs = _column(members, "qq")
    uins = g.ids.to_ids("person", qqs)
    me = d.account.qq
    if me in grp.members:
        uins[qqs.index(me)] = me     # the account keeps its number as its id (_pid)
    us = _texts(uins)
    minfo = [f'{{"nick":{n},"province":"","gender":{s},"uin":{u},"country":"","city":""}}'
             for n, s, u in zip(_esc_texts(_column(members, "nick")), _texts(_column(members, "gender")), us)]
    stats = [f'{{"client_type":1,"uin":{u},"stat":{s}}}' for u, s in zip(us, _texts(_column(members, "stat")))]
    carded = [(u, c) for u, c in zip(us, _column(members, "card")) if c]
    cards = [f'{{"muin":{u},"card":{c}}}' for (u, _), c in zip(carded, _esc_texts([c for _, c in carded]))]
    head = {"face": grp.face, "memo": esc(grp.memo), "class": 10011, "fingermemo": "",
            "code": g.ids.to_id("code", number), "createtime": grp.createtime,
            "flag": 16777217 + grp.serial, "level": grp.level, "name": esc(grp.name),
            "gid": g.ids.to_id("gid", number), "owner": _pid(d, g, grp.owner) if grp.owner else 0}
    tail: Dict[str, Any] = {"option": 2}
    if grp.markname is not None:
        tail["markname"] = esc(grp.markname)
    muins = ",".join([f'{{"muin":{u},"mflag":0}}' for u in us])
    ginfo = '%s,"members":[%s],%s' % (dumps(head)[:-1], muins, dumps(tail)[1:])
    return '{"stats":[%s],"minfo":[%s],"ginfo":%s,"cards":[%s],"vipinfo":[]}' % (
        ",".join(stats), ",".join(minfo), ginfo, ",".join(cards))


def discuss_list(d: WorldData, g: "Grant") -> Dict[str, Any]:
    return {"dnamelist": [{"name": dc.name, "did": g.ids.to_id("did", dc.serial)} for dc in d.discusses.values()]}


def discuss_key_of_did(d: WorldData, g: "Grant", did: Any) -> Optional[str]:
    serial = g.ids.from_id("did", did)
    for dc in d.discusses.values():
        if dc.serial == serial:
            return dc.key
    return None


def discuss_detail(d: WorldData, g: "Grant", key: str) -> Dict[str, Any]:
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
def ext_friends(d: WorldData, g: "Grant") -> Dict[str, Any]:
    result: Dict[str, Dict[str, Any]] = {}
    for i, name in sorted(d.categories.items()):
        entry: Dict[str, Any] = {"mems": []}
        if i != 0 or name != "我的好友":
            entry["gname"] = esc(name)
        result[str(i)] = entry
    for f in d.friends.values():
        result[str(f.category)]["mems"].append({"name": esc(f.markname if f.markname is not None else f.nick),
                                                "uin": f.qq})
    return {"ec": 0, "result": result}


def ext_groups(d: WorldData, g: "Grant") -> Dict[str, Any]:
    out: Dict[str, Any] = {"ec": 0, "join": [], "manage": [], "create": []}
    me = d.account.qq
    for grp in d.groups.values():
        m = grp.members.get(me)
        role = m.role if m else MEMBER
        bucket = {OWNER: "create", ADMIN: "manage"}.get(role, "join")
        out[bucket].append({"gc": grp.number, "gn": esc(grp.name), "owner": grp.owner})
    return out


def ext_members(d: WorldData, g: "Grant", number: int) -> Dict[str, Any]:
    grp = d.groups[number]
    out: Dict[str, Any] = {"ec": 0, "errcode": 0, "owner": grp.owner, "adm": [], "mems": [], "cards": {},
                           "times": {}, "join": {}, "levelname": {"1": "潜水", "2": "冒泡", "3": "吐槽"},
                           "max_member": 2000 if len(grp.members) <= 2000 else 3000, "max_admin": 10}
    for m in grp.members.values():
        if m.role == ADMIN:
            out["adm"].append(m.qq)
        out["mems"].append({"u": m.qq, "n": esc(m.nick), "g": EXT_GENDER.get(m.gender, 255)})
        if m.card:
            out["cards"][str(m.qq)] = esc(m.card)
        out["times"][str(m.qq)] = m.last_speak_time
        out["join"][str(m.qq)] = m.join_time
    return out


def ext_members_text(d: WorldData, g: "Grant", number: int) -> str:
    """``dumps(ext_members(d, g, number))``, written directly."""
    grp = d.groups[number]
    members = list(grp.members.values())
    qqs = _column(members, "qq")
    qs = _texts(qqs)
    if set(map(type, qqs)) <= {int}:
        keys = [f'"{q}"' for q in qs]      # the object keys: str(qq) as JSON
    else:
        keys = [_json_str(str(q)) for q in qqs]
    adm = [q for q, m in zip(qs, members) if m.role == ADMIN]
    genders = [EXT_GENDER.get(s, 255) for s in _column(members, "gender")]
    mems = [f'{{"u":{q},"n":{n},"g":{s}}}'
            for q, n, s in zip(qs, _esc_texts(_column(members, "nick")), genders)]
    carded = [(k, c) for k, c in zip(keys, _column(members, "card")) if c]
    cards = [f"{k}:{c}" for (k, _), c in zip(carded, _esc_texts([c for _, c in carded]))]
    times = [f"{k}:{t}" for k, t in zip(keys, _texts(_column(members, "last_speak_time")))]
    joins = [f"{k}:{t}" for k, t in zip(keys, _texts(_column(members, "join_time")))]
    return ('{"ec":0,"errcode":0,"owner":%s,"adm":[%s],"mems":[%s],"cards":{%s},"times":{%s},'
            '"join":{%s},"levelname":{"1":"潜水","2":"冒泡","3":"吐槽"},"max_member":%d,"max_admin":10}'
            % (dumps(grp.owner), ",".join(adm), ",".join(mems), ",".join(cards), ",".join(times),
               ",".join(joins), 2000 if len(members) <= 2000 else 3000))


def ext_search_members(d: WorldData, g: "Grant", number: int, start: int, end: int) -> Dict[str, Any]:
    grp = d.groups[number]
    role_code = {OWNER: 0, ADMIN: 1, MEMBER: 2}
    allm = list(grp.members.values())
    mems = [{"card": esc(m.card or ""), "flag": 0, "g": EXT_GENDER.get(m.gender, 255), "join_time": m.join_time,
             "last_speak_time": m.last_speak_time, "lv": {"level": 1, "point": 0}, "nick": esc(m.nick),
             "qage": 0, "role": role_code[m.role], "uin": m.qq} for m in allm[start:end + 1]]
    return {"ec": 0, "errcode": 0, "em": "", "adm_max": 10, "adm_num": sum(m.role == ADMIN for m in allm),
            "count": len(allm), "max_count": 2000, "mems": mems, "search_count": len(allm), "svr_time": 0,
            "vecsize": 1}
