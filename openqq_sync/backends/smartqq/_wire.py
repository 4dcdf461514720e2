"""Wire constants and small encoders shared by the endpoint modules (sections 2-3)."""

from __future__ import annotations

import functools
import json
import time
from typing import Any, Callable, Dict, TypeVar

from ...errors import OpenQQError, ProtocolError

F = TypeVar("F", bound=Callable[..., Any])

USER_AGENT = "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/37.0.2062"

APPID = 501004106
DAID = 164

R_X = ("https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1"
       "&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1"
       "&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1"
       "&login_state=10&t=20131024001")
R_S = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"
R_D = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
R_W = "http://w.qq.com/"
R_QUN = "http://qun.qq.com/member.html"
R_QINFO = "http://qinfo.clt.qq.com/member.html"
R_QINFO3 = "http://qinfo.clt.qq.com/qinfo_v3/member.html"

S_WEB2 = "https://s.web2.qq.com/api/"
D1_WEB2 = "http://d1.web2.qq.com/channel/"


def r_form(obj: Dict[str, Any]) -> Dict[str, str]:
    """The single form field ``r`` of every SmartQQ POST: compact JSON, raw UTF-8."""
    return {"r": json.dumps(obj, ensure_ascii=False, separators=(",", ":"))}


def unix_time() -> int:
    """The ``t`` parameter: whole seconds."""
    return int(time.time())


def unix_ms() -> int:
    return int(time.time() * 1000)


def malformed_is_protocol_error(fn: F) -> F:
    """Make an answer of the wrong shape (a list where a record belongs, a missing key...)
    a :class:`ProtocolError`, which callers handle like any failed fetch, instead of a
    ``TypeError`` that would end the calling thread."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OpenQQError:
            raise
        except (TypeError, KeyError, IndexError, ValueError, AttributeError) as e:
            raise ProtocolError(None, None, "malformed answer to %s: %r" % (fn.__name__, e)) from e
    return wrapper  # type: ignore[return-value]
