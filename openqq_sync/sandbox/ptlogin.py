"""The login pages: w.qq.com, xlogin, ptqrshow, ptqrlogin, check_sig, pt4_auth, logout, and
the qun.qq.com password login (``check``, ``login``) of protocol document 5.3–5.12.

Routes by path only (every Host is served). The QR code is a real PNG made with ``qrcode``.
"""

from __future__ import annotations

import io
import logging
import random
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit

import qrcode
import qrcode.image.pure
from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse  # what flask.redirect returns

from ._hashes import hash33, time33
from ._wire import R_X, expire_cookie, html_page, js, quote_fields, referer_ok, set_cookie, uin_cookie, world

if TYPE_CHECKING:
    from .world import Grant

log = logging.getLogger(__name__)
bp = Blueprint("sandbox_ptlogin", __name__)

_WEBQQ_S_URL = "http://w.qq.com/proxy.html?login2qq=1&webqq_type=10"
_QUN_S_URL = "http://qun.qq.com/"


def _ptui(code: str, url: str = "", text: str = "", nick: str = "") -> Response:
    # ptuiCB('66','0','','0','二维码未失效。(3203608000)', '');
    head = quote_fields(code, "0", url, "0", text)
    return js("ptuiCB(%s, %s);\r\n" % (head, quote_fields(nick)))


def _noise() -> int:
    return random.randrange(1_000_000_000, 4_000_000_000)


def _check_sig_url(qq: int, ptsigx: str, s_url: str, pttype: int = 1) -> str:
    return ("https://ptlogin2.web2.qq.com/check_sig?pttype=%d&uin=%d&service=ptqrlogin&nodirect=0"
            "&ptsigx=%s&s_url=%s&f_url=&ptlang=2052&ptredirect=100&aid=501004106&daid=164&j_later=0"
            "&low_login_hour=0&regmaster=0&pt_login_type=3&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=0"
            % (pttype, qq, ptsigx, quote(s_url, safe="")))


def _login_cookies(resp: Response, g: Grant) -> None:
    """The cookies of a finished ptlogin (16.2): uin, skey, ptwebqq, ... and the supertoken."""
    u = uin_cookie(g.qq)
    for name, value in (("uin", u), ("skey", g.skey), ("ptwebqq", g.ptwebqq), ("ptcz", g.ptcz), ("pt2gguin", u)):
        set_cookie(resp, name, value, "qq.com")
    set_cookie(resp, "superuin", u, "ptlogin2.qq.com")
    set_cookie(resp, "supertoken", g.supertoken, "ptlogin2.qq.com")
    set_cookie(resp, "superkey", g.p_skey, "ptlogin2.qq.com")


@bp.route("/")
def home() -> Response:
    return html_page("WebQQ")


@bp.route("/proxy.html")
def proxy_html() -> Response:
    return html_page("proxy")


@bp.route("/member.html")
@bp.route("/qinfo_v3/member.html")
def member_html() -> Response:
    return html_page("member")


@bp.route("/cgi-bin/xlogin")
def xlogin() -> Response:
    resp = html_page("xlogin")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-*"
    set_cookie(resp, "pt_login_sig", "".join(random.choice(alphabet)
                                             for _ in range(64)), "ptlogin2.qq.com")
    return resp


@bp.route("/ptqrshow")
def ptqrshow() -> Response:
    sig = world().new_qrcode()
    img = qrcode.make("https://ptlogin2.qq.com/qrlogin?k=%s" % sig[:32], image_factory=qrcode.image.pure.PyPNGImage)
    buf = io.BytesIO()
    img.save(buf)
    resp = Response(buf.getvalue(), content_type="image/png")
    set_cookie(resp, "qrsig", sig, "ptlogin2.qq.com")
    return resp


@bp.route("/ptqrlogin")
def ptqrlogin() -> Response:
    w = world()
    qrsig = request.cookies.get("qrsig")
    if not referer_ok(R_X) or not qrsig or request.args.get("ptqrtoken") != str(hash33(qrsig)):
        return _ptui("7", text="提交参数错误，请检查。(%d)" % _noise())
    state = w.qr_state(qrsig)
    if state == "waiting":
        return _ptui("66", text="二维码未失效。(%d)" % _noise())
    if state == "scanned":
        return _ptui("67", text="二维码认证中。(%d)" % _noise())
    if state == "expired":
        return _ptui("65", text="二维码已失效。(%d)" % _noise())
    g = w.complete_qr_login(qrsig)
    if g is None:
        return _ptui("65", text="二维码已失效。(%d)" % _noise())
    url = _check_sig_url(g.qq, w.new_check_sig(g), _WEBQQ_S_URL)
    resp = _ptui("0", url=url, text="登录成功！", nick=w.data.account.nick)
    _login_cookies(resp, g)
    return resp


@bp.route("/check_sig")
def check_sig() -> BaseResponse:
    w = world()
    g = w.check_sig(request.args.get("ptsigx"))
    if g is None:
        return Response("check_sig: invalid or used ptsigx".encode(), status=403, content_type="text/plain")
    target = unquote(request.args.getlist("s_url")[-1]) if request.args.get("s_url") else _WEBQQ_S_URL
    host = urlsplit(target).hostname or ""
    if not (host == "qq.com" or host.endswith(".qq.com")):
        target = _WEBQQ_S_URL
    resp = redirect(target, code=302)
    u = uin_cookie(g.qq)
    set_cookie(resp, "uin", u, "qq.com")
    set_cookie(resp, "skey", g.skey, "qq.com")
    for domain in ("web2.qq.com", "qun.qq.com"):
        set_cookie(resp, "p_skey", g.p_skey, domain)
        set_cookie(resp, "p_uin", u, domain)
        set_cookie(resp, "pt4_token", g.pt4_token, domain)
    return resp


@bp.route("/pt4_auth")
def pt4_auth() -> Response:
    w = world()
    g = w.grant_by_supertoken(request.cookies.get("superuin"), request.cookies.get("supertoken"))
    if not referer_ok(R_X) or g is None or request.args.get("auth_token") != str(time33(g.supertoken)):
        return js("ptui_auth_CB(%s);" % quote_fields("-1", ""))
    url = ("https://ptlogin2.web2.qq.com/check_sig?pttype=2&uin=%d&service=jump&nodirect=0&ptsigx=%s"
           "&f_url=&ptlang=2052&ptredirect=100&daid=164&j_later=0&low_login_hour=0&pt_login_type=2"
           "&pt_aid=0&pt_aaid=0&pt_light=0&pt_3rd_aid=0" % (g.qq, w.new_check_sig(g)))
    return js("ptui_auth_CB(%s);" % quote_fields("0", url))


@bp.route("/logout")
def logout() -> Response:
    """Kills the login and expires the quick-restore cookies (16.4)."""
    w = world()
    g = w.grant_by_cookies(request.cookies.get("uin"), request.cookies.get("skey"), checked=False) \
        or w.grant_by_supertoken(request.cookies.get("superuin"), request.cookies.get("supertoken"))
    if g is not None:
        w.logout(g)
    resp = js("ptuiCB(%s);" % quote_fields("0", "0", "", "0", "退出成功", ""))
    for name in ("supertoken", "superuin", "superkey"):
        expire_cookie(resp, name, "ptlogin2.qq.com")
    return resp


# ---- qun.qq.com password login (5.12), served so a password-mode client can log in ----
@bp.route("/check")
def ext_check() -> Response:
    return js("ptui_checkVC(%s);" % quote_fields("0", "!ABC", "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00",
                                                 "sandbox-verify-session", "0"))


@bp.route("/login")
def ext_login() -> Response:
    """Any password is accepted for the account's QQ number."""
    w = world()
    try:
        qq = int(request.args.get("u", ""))
    except ValueError:
        qq = 0
    g = w.password_login(qq)
    if g is None:
        return _ptui("3", text="您输入的帐号或密码不正确，请重新输入。")
    url = _check_sig_url(g.qq, w.new_check_sig(g), _QUN_S_URL)
    resp = _ptui("0", url=url, text="登录成功！", nick=w.data.account.nick)
    _login_cookies(resp, g)
    return resp
