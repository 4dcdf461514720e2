"""A test-only SmartQQ walker: the requests of protocol document 5 and 6, step by step.

Independent of ``openqq_sync.backends.smartqq`` on purpose; every call returns the raw response so
tests can assert on the wire. Hash functions are written out again here from the document.
"""

from __future__ import annotations

import json
import random
import re
import time
from typing import Any, Dict, Optional

import requests

from ._routing import routed_session

CLIENTID = 53999199
R_X = ("https://xui.ptlogin2.qq.com/cgi-bin/xlogin?daid=164&target=self&style=40&pt_disable_pwd=1"
       "&mibao_css=m_webqq&appid=501004106&enable_qlogin=0&no_verifyimg=1"
       "&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html&f_url=loginerroralert&strong_login=1&login_state=10&t=20131024001")
R_S = "https://s.web2.qq.com/proxy.html?v=20130916001&callback=1&id=1"
R_D = "http://d1.web2.qq.com/proxy.html?v=20151105001&callback=1&id=2"
R_W = "http://w.qq.com/"
R_QUN = "http://qun.qq.com/member.html"
R_QINFO = "http://qinfo.clt.qq.com/member.html"
R_QINFO3 = "http://qinfo.clt.qq.com/qinfo_v3/member.html"


def hash33(s: str) -> int:
    e = 0
    for c in s:
        e = (e + (e << 5) + ord(c)) & 0x7FFFFFFF
    return e


def time33(s: str) -> int:
    e = 0
    for c in s:
        e = (33 * e + ord(c)) % (1 << 32)
    return e


def bkn(skey: str) -> int:
    r = 5381
    for c in skey:
        r = (r + (r << 5) + ord(c)) & 0x7FFFFFFF
    return r


def friend_hash(ptwebqq: Optional[str], uin: int) -> str:
    ptb = [0, 0, 0, 0]
    for i, c in enumerate(ptwebqq or ""):
        ptb[i % 4] ^= ord(c)
    ub = [((uin >> 24) & 0xFF) ^ ord("E"), ((uin >> 16) & 0xFF) ^ ord("C"),
          ((uin >> 8) & 0xFF) ^ ord("O"), (uin & 0xFF) ^ ord("K")]
    return "".join("%02X" % b for b in [ptb[0], ub[0], ptb[1], ub[1], ptb[2], ub[2], ptb[3], ub[3]])


def quoted(text: str) -> list:
    return re.findall(r"'([^']*)'", text)


class Walker:
    """One SmartQQ login over a routed session."""

    def __init__(self, sandbox_url: str, session: Optional[requests.Session] = None) -> None:
        self.http = session or routed_session(sandbox_url)
        self.ptwebqq: Optional[str] = None
        self.vfwebqq: Optional[str] = None
        self.psessionid: Optional[str] = None
        self.uin: Optional[int] = None
        self.check_sig_url: Optional[str] = None

    def cookie(self, name: str) -> Optional[str]:
        for c in sorted(self.http.cookies, key=lambda c: c.domain):
            if c.name == name:
                return c.value
        return None

    # -- login steps (5.3 - 5.9) --
    def prepare(self) -> requests.Response:
        self.http.get("http://w.qq.com/")
        return self.http.get(R_X, headers={"Referer": R_W})

    def ptqrshow(self) -> requests.Response:
        return self.http.get("https://ssl.ptlogin2.qq.com/ptqrshow?appid=501004106&e=2&l=M&s=3&d=72&v=4&t=%s"
                             "&daid=164&pt_3rd_aid=0" % random.random(), headers={"Referer": R_X})

    def ptqrlogin(self, referer: str = R_X, token: Optional[int] = None) -> requests.Response:
        tok = hash33(self.cookie("qrsig") or "") if token is None else token
        url = ("https://ssl.ptlogin2.qq.com/ptqrlogin?u1=http%%3A%%2F%%2Fw.qq.com%%2Fproxy.html&ptqrtoken=%s"
               "&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=0-0-1516082717616&js_ver=10233&js_type=1"
               "&login_sig=%s&pt_uistyle=40&aid=501004106&daid=164&mibao_css=m_webqq&"
               % (tok, self.cookie("pt_login_sig") or ""))
        r = self.http.get(url, headers={"Referer": referer})
        f = quoted(r.text)
        if f and f[0] == "0":
            self.check_sig_url = f[2]
            self.uin = int(self.cookie("uin")[1:])
            self.ptwebqq = self.cookie("ptwebqq")
        return r

    def wait_qr(self, timeout: float = 5.0) -> list:
        """Poll ptqrlogin until success or another final code; returns the quoted fields."""
        deadline = time.monotonic() + timeout
        while True:
            f = quoted(self.ptqrlogin().text)
            if f[0] not in ("66", "67") or time.monotonic() > deadline:
                return f
            time.sleep(0.02)

    def check_sig(self) -> requests.Response:
        return self.http.get(self.check_sig_url)

    def getvfwebqq(self, referer: str = R_S) -> requests.Response:
        r = self.http.get("https://s.web2.qq.com/api/getvfwebqq?ptwebqq=%s&clientid=%d&psessionid=%s&t=%d"
                          % (self.ptwebqq or "", CLIENTID, self.psessionid or "", time.time()),
                          headers={"Referer": referer})
        if r.json().get("retcode") == 0:
            self.vfwebqq = r.json()["result"]["vfwebqq"]
        return r

    def login2(self) -> requests.Response:
        r = self.post_r("http://d1.web2.qq.com/channel/login2", {"status": "online", "ptwebqq": self.ptwebqq,
                        "clientid": CLIENTID, "psessionid": self.psessionid}, R_D)
        if r.json().get("retcode") == 0:
            self.psessionid = r.json()["result"]["psessionid"]
        return r

    def qr_login(self) -> "Walker":
        """The whole QR path with auto-scan on: prepare .. login2."""
        assert self.prepare().status_code == 200
        assert self.ptqrshow().status_code == 200
        assert self.wait_qr()[0] == "0"
        assert self.check_sig().status_code == 200
        assert self.getvfwebqq().json()["retcode"] == 0
        assert self.login2().json()["retcode"] == 0
        return self

    def quick_login(self) -> bool:
        """5.4: pt4_auth with the saved supertoken, then check_sig, getvfwebqq, login2."""
        st = self.cookie("supertoken")
        if not st or not self.cookie("superuin"):
            return False
        r = self.http.get("https://ssl.ptlogin2.qq.com/pt4_auth?daid=164&appid=501004106&auth_token=%d"
                          % time33(st), headers={"Referer": R_X})
        f = quoted(r.text)
        if len(f) < 2 or not re.match(r"^https?://[^/]+\.qq\.com/check_sig", f[1]):
            return False
        self.check_sig_url = f[1] + "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html"
        return (self.check_sig().status_code == 200 and self.getvfwebqq().json()["retcode"] == 0
                and self.login2().json()["retcode"] == 0)

    def logout(self) -> requests.Response:
        return self.http.get("https://ptlogin2.qq.com/logout?pt4_token=%s&pt4_hkey=%d&pt4_ptcz=%d&deep_logout=1"
                             % (self.cookie("pt4_token") or "", time33(self.cookie("skey") or ""),
                                hash33(self.cookie("ptcz") or "")), headers={"Referer": R_W})

    # -- generic calls --
    def post_r(self, url: str, obj: Dict[str, Any], referer: Optional[str] = R_D) -> requests.Response:
        headers = {"Referer": referer} if referer else {}
        return self.http.post(url, data={"r": json.dumps(obj, ensure_ascii=False)}, headers=headers)

    def get(self, url: str, referer: Optional[str] = R_S, **params: Any) -> requests.Response:
        headers = {"Referer": referer} if referer else {}
        return self.http.get(url, params=params or None, headers=headers)

    def session_params(self) -> Dict[str, Any]:
        return {"clientid": CLIENTID, "psessionid": self.psessionid}

    def hash(self) -> str:
        return friend_hash(self.ptwebqq, self.uin)

    def ext(self, url: str, referer: str = R_QUN, **form: Any) -> requests.Response:
        form.setdefault("bkn", bkn(self.cookie("skey") or ""))
        return self.http.post(url, data=form, headers={"Referer": referer})

    def poll(self, timeout: float = 10.0) -> requests.Response:
        return self.http.post("http://d1.web2.qq.com/channel/poll2", timeout=timeout, headers={"Referer": R_D},
                              data={"r": json.dumps({"ptwebqq": self.ptwebqq, "clientid": CLIENTID,
                                                     "psessionid": self.psessionid, "key": ""})})

    def send(self, endpoint: str, segments: list, **fields: Any) -> requests.Response:
        content = json.dumps(segments + [["font", {"name": "宋体", "size": 10, "style": [0, 0, 0],
                                                   "color": "000000"}]], ensure_ascii=False)
        body = dict(fields, content=content, msg_id=random.randrange(10**7), clientid=CLIENTID,
                    psessionid=self.psessionid)
        return self.post_r("http://d1.web2.qq.com/channel/%s" % endpoint, body, R_D)
