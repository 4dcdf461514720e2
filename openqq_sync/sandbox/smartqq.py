"""The SmartQQ endpoints on s.web2.qq.com and d1.web2.qq.com (protocol document 3, 5.8–8.6).

Checks, as the service made them, and the answers to a failed check (documented in
README.md, "The SmartQQ sandbox"):

* wrong or missing Referer, unknown cookies (``uin`` + ``skey`` of a finished login), wrong
  ``vfwebqq``: ``{"retcode":100000}``;
* malformed ``r`` or parameters, unknown contact: ``{"retcode":100001}``;
* bad friend-list hash: ``{"retcode":50}``;
* stale ``psessionid`` or wrong ``clientid``: ``{"retcode":103}`` (lost session);
* sends: ``{"errCode":0,"msg":"send ok"}``; unknown target or bad sess signature:
  ``{"errCode":1,"errMsg":"ERROR"}``; malformed content (not JSON, font not last): 100001.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Tuple

from flask import Blueprint, Response, request

from . import _content
from . import _payloads as P
from ._hashes import friend_hash
from ._wire import R_D, R_S, answer, answer_text, form_r, referer_ok, retcode, world
from .generator import Friend, WorldData
from .world import IDLE_POLL, Grant, Session

log = logging.getLogger(__name__)
bp = Blueprint("sandbox_smartqq", __name__)

SEND_OK = {"errCode": 0, "msg": "send ok"}
SEND_ERROR = {"errCode": 1, "errMsg": "ERROR"}


class _Reject(Exception):
    def __init__(self, resp: Response) -> None:
        self.resp = resp


@bp.errorhandler(_Reject)
def _rejected(e: _Reject) -> Response:
    return e.resp


def _ok(result: Any) -> Response:
    return answer({"retcode": 0, "result": result})


def _referer(allowed: Tuple[Tuple[str, str], ...]) -> None:
    if not referer_ok(allowed):
        raise _Reject(retcode(100000))


def _cookie_grant() -> Grant:
    g = world().grant_by_cookies(request.cookies.get("uin"), request.cookies.get("skey"))
    if g is None:
        raise _Reject(retcode(100000))
    return g


def _session(psessionid: Any, clientid: Any) -> Session:
    s = world().session(psessionid, clientid)
    if s is None:
        raise _Reject(retcode(103, errmsg="error!!!"))
    return s


def _vfwebqq(g: Grant, value: Any) -> None:
    if value != g.vfwebqq:
        raise _Reject(retcode(100000))


def _r() -> Dict[str, Any]:
    r = form_r()
    if r is None:
        raise _Reject(retcode(100001))
    return r


def _hash(g: Grant, value: Any) -> None:
    if value != friend_hash(g.hash_ptwebqq, g.qq):
        raise _Reject(retcode(50))


# ---- login ----------------------------------------------------------------------------
@bp.route("/api/getvfwebqq")
def getvfwebqq() -> Response:
    _referer(R_S)
    g = _cookie_grant()
    return _ok({"vfwebqq": g.vfwebqq})


@bp.route("/channel/login2", methods=["POST"])
def login2() -> Response:
    _referer(R_D)
    r = _r()
    g = _cookie_grant()
    raw_clientid: Any = r.get("clientid")  # anything the client sent; int() judges it
    try:
        clientid = int(raw_clientid)
    except (TypeError, ValueError):
        raise _Reject(retcode(100001)) from None
    s = world().login2(g, r.get("ptwebqq"), clientid)
    if s is None:
        raise _Reject(retcode(103))
    return _ok({"uin": g.qq, "cip": 1167657554, "index": 1075, "port": 51232,
                "status": r.get("status") or "online", "vfwebqq": g.vfwebqq, "psessionid": s.psessionid,
                "user_state": 0, "f": 0, "zone_id": 1})


@bp.route("/channel/change_status2")
def change_status2() -> Response:
    _referer(R_D)
    _session(request.args.get("psessionid"), request.args.get("clientid"))
    return _ok("ok")


# ---- contacts -------------------------------------------------------------------------
@bp.route("/api/get_self_info2")
def get_self_info2() -> Response:
    _referer(R_S)
    g = _cookie_grant()
    return _ok(world().read(P.self_info, g))


@bp.route("/api/get_user_friends2", methods=["POST"])
def get_user_friends2() -> Response:
    _referer(R_S)
    r = _r()
    g = _cookie_grant()
    _vfwebqq(g, r.get("vfwebqq"))
    _hash(g, r.get("hash"))
    return _ok(world().read(P.friends, g))


@bp.route("/channel/get_online_buddies2")
def get_online_buddies2() -> Response:
    _referer(R_D)
    a = request.args
    s = _session(a.get("psessionid"), a.get("clientid"))
    _vfwebqq(s.grant, a.get("vfwebqq"))
    return _ok(world().read(P.online_buddies, s.grant))


@bp.route("/api/get_group_name_list_mask2", methods=["GET", "POST"])
def get_group_name_list_mask2() -> Response:
    _referer(R_S)
    r = _r()
    g = _cookie_grant()
    _vfwebqq(g, r.get("vfwebqq"))
    _hash(g, r.get("hash"))
    return _ok(world().read(P.group_list, g))


@bp.route("/api/get_group_info_ext2")
def get_group_info_ext2() -> Response:
    _referer(R_S)
    g = _cookie_grant()
    _vfwebqq(g, request.args.get("vfwebqq"))
    w = world()
    number = w.read(P.group_number_of_code, g, request.args.get("gcode"))
    if number is None:
        raise _Reject(retcode(100001))
    try:
        return answer_text('{"retcode":0,"result":%s}' % w.read(P.group_detail_text, g, number))
    except KeyError:  # removed meanwhile
        raise _Reject(retcode(100001)) from None


@bp.route("/api/get_discus_list")
def get_discus_list() -> Response:
    _referer(R_S)
    a = request.args
    s = _session(a.get("psessionid"), a.get("clientid"))
    _vfwebqq(s.grant, a.get("vfwebqq"))
    return _ok(world().read(P.discuss_list, s.grant))


@bp.route("/channel/get_discu_info")
def get_discu_info() -> Response:
    _referer(R_D)
    a = request.args
    s = _session(a.get("psessionid"), a.get("clientid"))
    _vfwebqq(s.grant, a.get("vfwebqq"))
    w = world()
    key = w.read(P.discuss_key_of_did, s.grant, a.get("did"))
    if key is None:
        raise _Reject(retcode(100001))
    try:
        return _ok(w.read(P.discuss_detail, s.grant, key))
    except KeyError:
        raise _Reject(retcode(100001)) from None


@bp.route("/api/get_friend_info2")
def get_friend_info2() -> Response:
    _referer(R_S)
    a = request.args
    g = _cookie_grant()
    _vfwebqq(g, a.get("vfwebqq"))
    f = _friend(g, a.get("tuin"))
    return _ok({"face": f.face, "birthday": {"year": 1990, "month": 1, "day": 1}, "occupation": "", "phone": "",
                "allow": 1, "college": "", "uin": int(a["tuin"]), "constel": 0, "blood": 0, "homepage": "",
                "stat": 10 if f.status else 20, "vip_info": f.vip_level, "country": "", "city": "", "personal": "",
                "nick": P.esc(f.nick), "shengxiao": 0, "email": "", "province": "", "gender": f.gender, "mobile": ""})


@bp.route("/api/get_single_long_nick2")
def get_single_long_nick2() -> Response:
    _referer(R_S)
    a = request.args
    g = _cookie_grant()
    _vfwebqq(g, a.get("vfwebqq"))
    f = _friend(g, a.get("tuin"))
    return _ok([{"uin": int(a["tuin"]), "lnick": P.esc(f.lnick)}])


def _friend(g: Grant, tuin: Any) -> Friend:
    qq = g.ids.from_id("person", tuin)
    f: Optional[Friend] = world().read(lambda d: d.friends.get(qq))
    if f is None:
        raise _Reject(retcode(100001))
    return f


@bp.route("/channel/get_recent_list2", methods=["POST"])
def get_recent_list2() -> Response:
    _referer(R_D)
    r = _r()
    s = _session(r.get("psessionid"), r.get("clientid"))
    _vfwebqq(s.grant, r.get("vfwebqq"))

    def recent(d: WorldData) -> List[Dict[str, Any]]:
        ids = s.grant.ids
        out = [{"type": 0, "uin": ids.to_id("person", qq)} for qq in list(d.friends)[:3]]
        out += [{"type": 1, "uin": ids.to_id("gid", n)} for n in list(d.groups)[:3]]
        out += [{"type": 2, "uin": ids.to_id("did", dc.serial)} for dc in list(d.discusses.values())[:3]]
        return out
    return _ok(world().read(recent))


# ---- receiving ------------------------------------------------------------------------
@bp.route("/channel/poll2", methods=["POST"])
def poll2() -> Response:
    _referer(R_D)
    r = _r()
    s = _session(r.get("psessionid"), r.get("clientid"))
    items = world().poll(s)
    if items is None:
        return retcode(103, errmsg="error!!!")
    if not items:
        return answer(IDLE_POLL)
    return answer({"retcode": 0, "result": items})


# ---- sending --------------------------------------------------------------------------
def _send_common() -> Tuple[Dict[str, Any], Session, str, List[Any]]:
    _referer(R_D)
    r = _r()
    s = _session(r.get("psessionid"), r.get("clientid"))
    try:
        text = _content.decode_sent(r.get("content"))
    except _content.ContentError:
        raise _Reject(retcode(100001)) from None
    return r, s, text, _content.echo_wire(r["content"])


@bp.route("/channel/send_buddy_msg2", methods=["POST"])
def send_buddy_msg2() -> Response:
    r, s, text, wire = _send_common()
    w = world()
    qq = s.grant.ids.from_id("person", r.get("to"))
    if qq is None or not w.read(lambda d: qq in d.friends):
        return answer(SEND_ERROR)
    w.record_send(s, "friend_message", qq, text, r.get("msg_id"), echo={"wire": wire, "to": r.get("to")},
                  face=r.get("face"))
    return answer(SEND_OK)


@bp.route("/channel/send_qun_msg2", methods=["POST"])
def send_qun_msg2() -> Response:
    r, s, text, wire = _send_common()
    w = world()
    number = s.grant.ids.from_id("gid", r.get("group_uin"))
    me = w.data.account.qq
    if number is None or not w.read(lambda d: number in d.groups and me in d.groups[number].members):
        return answer(SEND_ERROR)
    w.record_send(s, "group_message", number, text, r.get("msg_id"),
                  echo={"wire": wire, "group_uid": number}, face=r.get("face"))
    return answer(SEND_OK)


@bp.route("/channel/send_discu_msg2", methods=["POST"])
def send_discu_msg2() -> Response:
    r, s, text, wire = _send_common()
    w = world()
    key = w.read(P.discuss_key_of_did, s.grant, r.get("did"))
    if key is None:
        return answer(SEND_ERROR)
    w.record_send(s, "discuss_message", key, text, r.get("msg_id"),
                  echo={"wire": wire, "discuss_key": key}, face=r.get("face"))
    return answer(SEND_OK)


@bp.route("/channel/send_sess_msg2", methods=["POST"])
def send_sess_msg2() -> Response:
    r, s, text, wire = _send_common()
    w = world()
    sig = s.grant.sess_sigs.get(r.get("group_sig") or "")
    qq = s.grant.ids.from_id("person", r.get("to"))
    if sig is None or qq is None or sig[2] != qq or str(sig[0]) != str(r.get("service_type")):
        return answer(SEND_ERROR)
    service_type, via, _ = sig
    extra = {"group_uid": via} if service_type == 0 else {"discuss_key": via}
    w.record_send(s, "sess_message", qq, text, r.get("msg_id"), echo=dict(extra, wire=wire, to=r.get("to")),
                  face=r.get("face"), via="group" if service_type == 0 else "discuss", **extra)
    return answer(SEND_OK)


@bp.route("/channel/get_c2cmsg_sig2")
def get_c2cmsg_sig2() -> Response:
    _referer(R_D)
    a = request.args
    s = _session(a.get("psessionid"), a.get("clientid"))
    ids = s.grant.ids
    qq = ids.from_id("person", a.get("to_uin"))
    service_type = a.get("service_type")
    via: Optional[Any] = None
    if service_type == "0":
        number = ids.from_id("gid", a.get("id"))
        if world().read(lambda d: number in d.groups and qq in d.groups[number].members):
            via, kind = number, 0
    elif service_type == "1":
        key = world().read(P.discuss_key_of_did, s.grant, a.get("id"))
        if key is not None and world().read(lambda d: qq in d.discusses[key].members):
            via, kind = key, 1
    if via is None or qq is None:  # qq is None only when via is (no member is None)
        raise _Reject(retcode(100001))
    sig = world().new_sess_sig(s.grant, kind, via, qq)
    return _ok({"type": 0, "value": sig, "flags": {"text": 1, "pic": 1, "file": 1, "audio": 1, "video": 1}})
