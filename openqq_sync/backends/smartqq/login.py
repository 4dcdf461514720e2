"""The SmartQQ login steps (protocol document 5.3-5.10 and 5.16).

:class:`LoginFlow` performs one step per method and keeps the few values the original
kept as client attributes between steps (``pt_login_sig``, ``ptwebqq``, ``uid``,
``vfwebqq``). It decides nothing: the core's state machine calls the steps in the order of
5.2, sleeps between QR checks and reacts to the results.
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, List, Optional

from ._wire import APPID, D1_WEB2, R_D, R_S, R_W, R_X, S_WEB2, r_form, unix_time
from ...errors import AccountMismatch, ProtocolError, TransportError
from .hashes import hash33, time33
from .transport import Transport

if TYPE_CHECKING:
    from ...config import Config

log = logging.getLogger(__name__)

__all__ = [
    "Credentials", "LoginFlow", "QrStatus", "parse_quoted", "numify",
    "QR_OK", "QR_WAITING", "QR_CONFIRMING", "QR_EXPIRED",
]

QR_OK = 0
QR_EXPIRED = 65
QR_WAITING = 66
QR_CONFIRMING = 67

_QUOTED = re.compile(r"'([^']*)'")
_CHECK_SIG = re.compile(r"^https?://[^/]+\.qq\.com/check_sig")
_LEADING_INT = re.compile(r"^\s*([+-]?\d+)")

CHECK_SIG_TAIL = "&regmaster=&aid=501004106&s_url=http%3A%2F%2Fw.qq.com%2Fproxy.html"
PTQRSHOW = "https://ssl.ptlogin2.qq.com/ptqrshow"
PTQRLOGIN = "https://ssl.ptlogin2.qq.com/ptqrlogin"
PT4_AUTH = "https://ssl.ptlogin2.qq.com/pt4_auth"
LOGOUT = "https://ptlogin2.qq.com/logout"
LOGIN2 = D1_WEB2 + "login2"


@dataclass(frozen=True)
class Credentials:
    """What a logged-in session needs on every call; published as one immutable snapshot.

    Thread-safe (immutable): the protocol thread swaps the reference, others read it.
    """

    uid: int
    ptwebqq: Optional[str]
    vfwebqq: str
    psessionid: str
    clientid: int = 53999199


@dataclass(frozen=True)
class QrStatus:
    """One ptqrlogin answer: ``code`` 66 waiting, 67 confirming, 65 expired, 0 success."""

    code: int
    check_sig_url: str = ""
    text: str = ""
    nick: str = ""
    uid: Optional[int] = None


def parse_quoted(text: str) -> List[str]:
    """All single-quoted substrings of a ptlogin JavaScript answer, in order."""
    return _QUOTED.findall(text)


def numify(s: Optional[str]) -> int:
    """Perl-style numification: the leading integer of ``s``, or 0."""
    m = _LEADING_INT.match(s or "")
    return int(m.group(1)) if m else 0


class LoginFlow:
    """The login endpoints, step by step.

    :param transport: the shared :class:`Transport`.
    :param config: the client config (``mode``, ``clientid``, ``ua_retry_times``).

    Call only from the protocol thread.
    """

    def __init__(self, transport: Transport, config: "Config") -> None:
        self.t = transport
        self.config = config
        self.pt_login_sig: Optional[str] = None
        self.ptwebqq: Optional[str] = None
        self.uid: Optional[int] = None
        self.vfwebqq: Optional[str] = None

    @property
    def _attempts(self) -> int:
        return max(1, self.config.ua_retry_times)

    @property
    def _clientid(self) -> int:
        return self.config.clientid

    # --- Step A ------------------------------------------------------------------------
    def prepare(self) -> bool:
        """Visit w.qq.com and the xlogin page (5.3); remember ``pt_login_sig`` once.

        :returns: ``True`` when the xlogin page answered 2xx.
        """
        try:
            self.t.request("GET", "http://w.qq.com/", attempts=self._attempts)
        except TransportError as e:
            log.info("w.qq.com unreachable (ignored): %s", e)
        try:
            self.t.request("GET", R_X, referer=R_W, attempts=self._attempts)
        except TransportError as e:
            log.warning("xlogin page failed: %s", e)
            return False
        if not self.pt_login_sig:
            self.pt_login_sig = self.t.cookie("pt_login_sig")
        return True

    # --- Step B ------------------------------------------------------------------------
    def check_login(self) -> Optional[str]:
        """Quick restore with saved cookies (5.4).

        :returns: the check_sig URL to follow, or ``None`` when a QR login is needed.
        """
        supertoken = self.t.cookie("supertoken")
        if not supertoken or not self.t.cookie("superuin"):
            return None
        url = "%s?daid=164&appid=%d&auth_token=%d" % (PT4_AUTH, APPID, time33(supertoken))
        try:
            resp = self.t.request("GET", url, referer=R_X, attempts=self._attempts)
        except TransportError as e:
            log.info("pt4_auth failed, a QR login is needed: %s", e)
            return None
        fields = parse_quoted(resp.content.decode("utf-8", "replace"))
        if len(fields) >= 2 and _CHECK_SIG.match(fields[1]):
            log.info("saved cookies accepted by pt4_auth (retcode %s)", fields[0])
            # The original re-read ptwebqq only on the first login of the process and sent
            # null after a relogin; the saved cookie is the better value either way.
            self.ptwebqq = self.ptwebqq or self.t.cookie("ptwebqq")
            return fields[1] + CHECK_SIG_TAIL
        log.info("pt4_auth refused the saved cookies (retcode %s)", fields[0] if fields else "?")
        return None

    # --- Steps C and D -----------------------------------------------------------------
    def fetch_qrcode(self) -> bytes:
        """Download a new QR image (5.5); the answer sets the ``qrsig`` cookie.

        :raises TransportError: the image could not be downloaded.
        """
        url = "%s?appid=%d&e=2&l=M&s=3&d=72&v=4&t=%s&daid=164&pt_3rd_aid=0" % (
            PTQRSHOW, APPID, repr(random.random()))
        resp = self.t.request("GET", url, referer=R_X, attempts=self._attempts)
        if not resp.content:
            raise TransportError("empty QR image", url=PTQRSHOW)
        return resp.content

    def qrlogin_url(self) -> str:
        """The ptqrlogin URL, parameters in the original's order, trailing ``&`` included."""
        return (PTQRLOGIN + "?u1=http%3A%2F%2Fw.qq.com%2Fproxy.html"
                "&ptqrtoken=" + str(hash33(self.t.cookie("qrsig"))) +
                "&ptredirect=0&h=1&t=1&g=1&from_ui=1&ptlang=2052&action=0-0-1516082717616"
                "&js_ver=10233&js_type=1&login_sig=" + (self.pt_login_sig or "") +
                "&pt_uistyle=40&aid=501004106&daid=164&mibao_css=m_webqq&")

    def check_qrcode(self) -> QrStatus:
        """Ask once whether the QR was scanned (5.6). The caller paces the checks.

        On success the account's QQ number comes from the ``uin`` cookie and ``ptwebqq``
        from its cookie.

        :raises TransportError: the request failed.
        :raises ProtocolError: the answer held no quoted fields.
        """
        resp = self.t.request("GET", self.qrlogin_url(), referer=R_X, attempts=self._attempts)
        body = resp.content.decode("utf-8", "replace")
        fields = parse_quoted(body)
        if not fields:
            raise ProtocolError(None, body, "unparsable ptqrlogin answer")
        fields += [""] * (6 - len(fields))
        code = numify(fields[0])
        status = QrStatus(code=code, check_sig_url=fields[2], text=fields[4], nick=fields[5])
        if code != QR_OK:
            return status
        uid = numify((self.t.cookie("uin") or "")[1:])
        self.uid = uid
        self.ptwebqq = self.t.cookie("ptwebqq")
        return replace(status, uid=uid)

    # --- Steps E, F, G, H --------------------------------------------------------------
    def check_sig(self, url: str) -> None:
        """Follow the check_sig URL and its redirects (5.7); they set the session cookies.

        :raises TransportError: the final answer was not 2xx.
        """
        self.t.request("GET", url, attempts=self._attempts)

    def get_vfwebqq(self, psessionid: Optional[str] = None, ptwebqq: Any = ...) -> str:
        """getvfwebqq (5.8): 10 s, 3 attempts.

        :param psessionid: the previous session's psessionid on a relogin, else empty.
        :param ptwebqq: defaults to the value the flow holds (from the QR login).
        :raises TransportError: network failure or bad JSON.
        :raises ProtocolError: retcode not 0 or no vfwebqq.
        """
        if ptwebqq is ...:
            ptwebqq = self.ptwebqq
        url = "%sgetvfwebqq?ptwebqq=%s&clientid=%d&psessionid=%s&t=%d" % (
            S_WEB2, ptwebqq or "", self._clientid, psessionid or "", unix_time())
        data = self.t.json("GET", url, referer=R_S, timeout=10, attempts=3)
        code = data.get("retcode") if isinstance(data, dict) else None
        result = data.get("result") if isinstance(data, dict) else None
        vfwebqq = result.get("vfwebqq") if isinstance(result, dict) else None
        if code != 0 or not vfwebqq:
            raise ProtocolError.for_retcode(code, data)
        self.vfwebqq = vfwebqq
        return vfwebqq

    def login2(self, ptwebqq: Any = ..., psessionid: Optional[str] = None,
               vfwebqq: Optional[str] = None) -> Credentials:
        """login2 (5.9) then the cookie proxy (5.10).

        :param ptwebqq: defaults to the value the flow holds.
        :param psessionid: the previous psessionid, if any.
        :param vfwebqq: defaults to the one ``get_vfwebqq`` obtained.
        :raises AccountMismatch: the service logged in another QQ number than the scan.
        :raises ProtocolError: retcode not 0.
        :raises TransportError: network failure or bad JSON.
        """
        if ptwebqq is ...:
            ptwebqq = self.ptwebqq
        payload = {"status": self.config.mode, "ptwebqq": ptwebqq,
                   "clientid": self._clientid, "psessionid": psessionid}
        data = self.t.json("POST", LOGIN2, form=r_form(payload), referer=R_D,
                           attempts=self._attempts)
        result = self._result(data)
        uin = result.get("uin")
        if self.uid and str(self.uid) != str(uin):
            raise AccountMismatch(0, data, "logged in as %s, expected %s" % (uin, self.uid))
        if uin is None or not result.get("psessionid"):
            raise ProtocolError(0, data, "login2 answer without uin/psessionid")
        self.uid = int(uin)
        vf = vfwebqq or self.vfwebqq or result.get("vfwebqq") or ""
        self.cookie_proxy()
        return Credentials(uid=self.uid, ptwebqq=ptwebqq, vfwebqq=vf,
                           psessionid=result["psessionid"], clientid=self._clientid)

    def cookie_proxy(self) -> None:
        """Copy ``p_skey`` and ``p_uin`` to w.qq.com (5.10)."""
        p_skey, p_uin = self.t.cookie("p_skey"), self.t.cookie("p_uin")
        if p_skey and p_uin:
            self.t.set_cookie("p_skey", p_skey, "w.qq.com")
            self.t.set_cookie("p_uin", p_uin, "w.qq.com")

    # --- 5.16 --------------------------------------------------------------------------
    def relink(self, creds: Credentials) -> Credentials:
        """Re-link the channel after poll retcode 120/121 (``_relink``, 5.16).

        :returns: new credentials (non-empty result fields replace the old ones).
        :raises ProtocolError, TransportError: the core falls back to a relogin.
        """
        payload = {"status": self.config.mode, "key": "",
                   "ptwebqq": creds.ptwebqq, "clientid": creds.clientid,
                   "psessionid": creds.psessionid}
        data = self.t.json("POST", LOGIN2, form=r_form(payload), referer=R_D,
                           attempts=self._attempts)
        result = self._result(data)
        for name in ("ptwebqq", "skey"):
            if result.get(name) is not None:
                self.t.set_cookie(name, str(result[name]), "qq.com")
        ptwebqq = result.get("ptwebqq") or creds.ptwebqq
        if result.get("ptwebqq"):
            self.ptwebqq = ptwebqq
        clientid = result.get("clientid") or creds.clientid
        self.cookie_proxy()
        return Credentials(uid=creds.uid, ptwebqq=ptwebqq,
                           vfwebqq=result.get("vfwebqq") or creds.vfwebqq,
                           psessionid=result.get("psessionid") or creds.psessionid,
                           clientid=int(clientid))

    def logout(self) -> None:
        """ptlogin logout (#9); the result is ignored, ``ptwebqq`` is forgotten."""
        url = "%s?pt4_token=%s&pt4_hkey=%d&pt4_ptcz=%d&deep_logout=1" % (
            LOGOUT, self.t.cookie("pt4_token") or "", time33(self.t.cookie("skey")),
            hash33(self.t.cookie("ptcz")))
        try:
            self.t.request("GET", url, referer=R_W, attempts=self._attempts)
        except TransportError as e:
            log.info("logout failed (ignored): %s", e)
        self.ptwebqq = None

    @staticmethod
    def _result(data: Any) -> dict:
        if not isinstance(data, dict):
            raise ProtocolError(None, data, "answer is not a JSON object")
        code = data.get("retcode")
        result = data.get("result")
        if code != 0 or not isinstance(result, dict):
            raise ProtocolError.for_retcode(code, data)
        return result
