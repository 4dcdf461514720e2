"""The qun.qq.com / qinfo.clt.qq.com "ext" endpoints (protocol document 6.7 and 9).

They accept the cookies of the QR login (``uin`` + ``skey``) with ``bkn`` computed from
that ``skey``, so a QR login alone yields QQ numbers, roles, mute and kick; the password
login of 5.12 (``/check``, ``/login``) is served as well and yields the same cookies.

Answers: success ``{"ec":0,...}``; wrong Referer, unknown cookies or bad ``bkn``:
``{"ec":1,"em":"..."}``; malformed parameters or unknown group/member: ``{"ec":4,...}``;
no right (the account is not owner/admin, or a target is owner/admin): ``{"ec":7,...}``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Tuple

from flask import Blueprint, Response, request

from . import _payloads as P
from ._hashes import bkn
from ._wire import R_QINFO, R_QUN, answer, answer_text, referer_ok, world

bp = Blueprint("sandbox_qun", __name__)


class _Reject(Exception):
    def __init__(self, ec: int, em: str) -> None:
        self.ec, self.em = ec, em


@bp.errorhandler(_Reject)
def _rejected(e: _Reject) -> Response:
    return answer({"ec": e.ec, "em": e.em})


def _grant(referers: Tuple[Tuple[str, str], ...]) -> Any:
    if not referer_ok(referers):
        raise _Reject(1, "referer")
    skey = request.cookies.get("skey")
    g = world().grant_by_cookies(request.cookies.get("uin"), skey, checked=False)
    if g is None:
        raise _Reject(1, "not login")
    if request.form.get("bkn", request.args.get("bkn")) != str(bkn(skey)):
        raise _Reject(1, "bkn")
    return g


def _int(name: str) -> int:
    try:
        return int(request.form.get(name, request.args.get(name, "")))
    except ValueError:
        raise _Reject(4, "bad %s" % name) from None


@bp.route("/cgi-bin/qun_mgr/get_friend_list", methods=["POST"])
def get_friend_list() -> Response:
    g = _grant(R_QUN)
    return answer(world().read(P.ext_friends, g))


@bp.route("/cgi-bin/qun_mgr/get_group_list", methods=["POST"])
def get_group_list() -> Response:
    g = _grant(R_QUN)
    return answer(world().read(P.ext_groups, g))


@bp.route("/cgi-bin/qun_info/get_group_members", methods=["POST"])
def get_group_members() -> Response:
    g = _grant(R_QINFO)
    number = _int("gc")
    try:
        return answer_text(world().read(P.ext_members_text, g, number))
    except KeyError:
        raise _Reject(4, "no such group") from None


@bp.route("/cgi-bin/qun_mgr/search_group_members", methods=["POST"])
def search_group_members() -> Response:
    g = _grant(R_QUN)
    number = _int("gc")
    start = _int("st") if request.form.get("st") else 0
    end = _int("end") if request.form.get("end") else 2000
    try:
        return answer(world().read(P.ext_search_members, g, number, start, end))
    except KeyError:
        raise _Reject(4, "no such group") from None


def _admin_answer(ec: int, em: str) -> Response:
    return answer({"ec": ec, "em": em} if ec else {"ec": 0, "errcode": 0, "em": ""})


@bp.route("/cgi-bin/qun_mgr/delete_group_member", methods=["POST"])
def delete_group_member() -> Response:
    _grant(R_QUN)
    number = _int("gc")
    try:
        targets = {int(u): None for u in request.form.get("ul", "").split("|") if u}
    except ValueError:
        raise _Reject(4, "bad ul") from None
    return _admin_answer(*world().group_admin("kick", number, targets))


@bp.route("/cgi-bin/qun_info/set_group_shutup", methods=["POST"])
def set_group_shutup() -> Response:
    _grant(R_QINFO)
    number = _int("gc")
    try:
        targets = {int(e["uin"]): int(e["t"]) for e in json.loads(request.form.get("shutup_list", ""))}
    except (ValueError, TypeError, KeyError):
        raise _Reject(4, "bad shutup_list") from None
    if any(t < 0 for t in targets.values()):
        raise _Reject(4, "bad t")
    return _admin_answer(*world().group_admin("shutup", number, targets))


@bp.route("/cgi-bin/qun_mgr/add_group_member", methods=["POST"])
def add_group_member() -> Response:
    """Invite friends (``ul`` = their QQ numbers joined by ``|``); owner/admin only."""
    _grant(R_QUN)
    number = _int("gc")
    try:
        uids = [int(u) for u in request.form.get("ul", "").split("|") if u]
    except ValueError:
        raise _Reject(4, "bad ul") from None
    return _admin_answer(*world().group_invite(number, uids))


@bp.route("/cgi-bin/qun_info/set_group_admin", methods=["POST"])
def set_group_admin() -> Response:
    _grant(R_QINFO)
    return _admin_answer(*world().group_set_admin(_int("gc"), _int("u"), _int("op") == 1))


@bp.route("/cgi-bin/qun_info/set_group_card", methods=["POST"])
def set_group_card() -> Response:
    _grant(R_QINFO)
    return _admin_answer(*world().group_set_card(_int("gc"), _int("u"), request.form.get("name") or None))


@bp.route("/cgi-bin/sign", methods=["POST"])
def sign() -> Response:
    g = world().grant_by_cookies(request.cookies.get("uin"), request.cookies.get("skey"), checked=False)
    if g is None or request.form.get("bkn") != str(bkn(request.cookies.get("skey"))):
        raise _Reject(1, "not login")
    now = int(time.time())
    return answer({"conti_count": 1, "ec": 0, "is_new": 0, "is_sign": 1, "now": now, "rank": 2,
                   "sign_time": now, "today_count": 2, "total_count": 1})
