"""Request and response helpers shared by the sandbox views: answers, Referers, cookies.

Answers follow protocol document 16.5: JSON with raw UTF-8 (never ``\\u`` escapes),
ptlogin answers as JavaScript with single-quoted fields, HTTP 200. Cookies are set with a
real ``qq.com`` domain and ``Path=/`` and never ``Secure`` (the sandbox is plain HTTP behind
the client's routing adapter, which keeps the real Host). Call from a request context.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple
from urllib.parse import urlsplit

from flask import Response, current_app, request
from werkzeug.wrappers import Response as BaseResponse  # what flask.redirect returns

if TYPE_CHECKING:
    from .world import SandboxWorld

# The Referer each endpoint family must carry (protocol doc section 3), as (host, path).
R_X = (("xui.ptlogin2.qq.com", "/cgi-bin/xlogin"),)
R_S = (("s.web2.qq.com", "/proxy.html"),)
R_D = (("d1.web2.qq.com", "/proxy.html"),)
R_QUN = (("qun.qq.com", "/member.html"),)
R_QINFO = (("qinfo.clt.qq.com", "/member.html"), ("qinfo.clt.qq.com", "/qinfo_v3/member.html"))

JSON_TYPE = "application/json;charset=UTF-8"
JS_TYPE = "application/javascript;charset=UTF-8"


def world() -> SandboxWorld:
    """The ``SandboxWorld`` of the current app."""
    w: SandboxWorld = current_app.extensions["openqq_sandbox"]
    return w


def answer(obj: Any, status: int = 200) -> Response:
    """A JSON answer with raw UTF-8."""
    body = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return Response(body.encode("utf-8"), status=status, content_type=JSON_TYPE)


def answer_text(text: str, status: int = 200) -> Response:
    """A JSON answer already written as text (the large payloads, ``_payloads.*_text``)."""
    return Response(text.encode("utf-8"), status=status, content_type=JSON_TYPE)


def retcode(code: int, **extra: Any) -> Response:
    return answer(dict({"retcode": code, "errmsg": ""}, **extra))


def js(text: str) -> Response:
    return Response(text.encode("utf-8"), content_type=JS_TYPE)


def quote_fields(*fields: Any) -> str:
    """``'a','b',...`` for a ptlogin callback; single quotes are replaced (they break parsing)."""
    return ",".join("'%s'" % str(f).replace("'", "\u2019") for f in fields)


def referer_ok(allowed: Tuple[Tuple[str, str], ...]) -> bool:
    """True when the Referer names one of the ``(host, path)`` pairs (scheme and query free)."""
    ref = request.headers.get("Referer")
    if not ref:
        return False
    try:
        parts = urlsplit(ref)
    except ValueError:
        return False
    return (parts.hostname or "", parts.path or "/") in allowed


def form_r() -> Optional[Dict[str, Any]]:
    """The JSON object of the ``r`` field (form body, or query string for GETs)."""
    raw = request.form.get("r") if request.method == "POST" else None
    if raw is None:
        raw = request.args.get("r")
    if raw is None:
        return None
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    return obj if isinstance(obj, dict) else None


def set_cookie(resp: BaseResponse, name: str, value: str, domain: str, max_age: Optional[int] = None) -> None:
    resp.set_cookie(name, value, domain=domain, path="/", max_age=max_age)


def expire_cookie(resp: Response, name: str, domain: str) -> None:
    resp.set_cookie(name, "", domain=domain, path="/", max_age=0, expires=0)


def uin_cookie(qq: int) -> str:
    """The ``uin`` cookie form of a QQ number: ``o`` + 10 digits."""
    return "o%010d" % qq


def html_page(title: str) -> Response:
    body = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>%s</title></head>" \
           "<body>openqq sandbox</body></html>" % title
    return Response(body.encode("utf-8"), content_type="text/html;charset=UTF-8")
