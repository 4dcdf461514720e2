"""The four send endpoints, the sess signature and the send status table (8.5-8.7).

``send`` makes exactly one attempt (sends are never retried here: the core's queue owns
TTL and pacing) and always returns a :class:`SendStatus`; it never raises for a failed
send, so a caller waiting on the result always gets one (bugs 3 and 7 of the original).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import requests

from ._wire import D1_WEB2, R_D, r_form, unix_time
from .codec import encode_content
from ...errors import TransportError
from .login import Credentials
from .transport import Transport

log = logging.getLogger(__name__)

__all__ = ["SendStatus", "send", "parse_send_status", "get_sess_sig", "ENDPOINTS",
           "OK", "FAILED"]

OK = "发送成功"
FAILED = "发送失败"

ENDPOINTS = {
    "friend_message": "send_buddy_msg2",
    "group_message": "send_qun_msg2",
    "discuss_message": "send_discu_msg2",
    "sess_message": "send_sess_msg2",
}
_TARGET_KEY = {"friend_message": "to", "group_message": "group_uin", "discuss_message": "did",
               "sess_message": "to"}
DEFAULT_IGNORED = (1202, 100100)


@dataclass(frozen=True)
class SendStatus:
    """The outcome of a send: Openqq ``code``, ``status`` (``msg``) and ``info``."""

    code: int
    msg: str
    info: str

    @property
    def ok(self) -> bool:
        return self.code == 0


NETWORK_FAILURE = SendStatus(-1, FAILED, "数据格式错误")
NO_SESS_SIG = SendStatus(-5, FAILED, "无法获取到sess_sig")


def _dump(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def parse_send_status(data: Any, ignored: Any = DEFAULT_IGNORED) -> SendStatus:
    """Table 8.7 for a parsed JSON reply."""
    if not isinstance(data, dict):
        return SendStatus(-2, FAILED, "响应未知: %s" % _dump(data))
    if "errCode" in data:
        if data.get("errCode") == 0 and data.get("msg") == "send ok":
            return SendStatus(0, OK, "发送正常")
        if data.get("errMsg") == "ERROR":
            return SendStatus(-3, FAILED, "发送异常")
        return SendStatus(-4, FAILED, "响应未知: %s" % _dump(data))
    if "retcode" in data:
        code = data.get("retcode")
        if code == 0:
            return SendStatus(0, OK, "发送正常")
        if code in set(ignored or ()):
            return SendStatus(0, OK, "忽略返回值: %s" % code)
        return SendStatus(-5, FAILED, "未识别返回值:%s" % code)
    # The original crashed here (bug 7) and the caller never heard back.
    return SendStatus(-2, FAILED, "响应未知: %s" % _dump(data))


def build_payload(creds: Credentials, kind: str, target_id: Any, segments: List[Dict[str, Any]],
                  msg_id: int, face: Optional[int], *, sess_sig: Optional[str] = None,
                  service_type: Optional[int] = None) -> Dict[str, Any]:
    """The ``r`` object of a send (8.5); ``face`` falls back to 570 (friend) or 591."""
    if kind not in ENDPOINTS:
        raise ValueError("unknown message type %r" % (kind,))
    payload: Dict[str, Any] = {_TARGET_KEY[kind]: target_id}
    if kind == "sess_message":
        payload["group_sig"] = sess_sig
    payload["face"] = face or (570 if kind == "friend_message" else 591)
    payload["content"] = encode_content(segments)
    payload["msg_id"] = msg_id
    if kind == "sess_message":
        payload["service_type"] = service_type or 0
    payload["clientid"] = creds.clientid
    payload["psessionid"] = creds.psessionid
    return payload


def send(t: Transport, creds: Credentials, kind: str, target_id: Any, segments: List[Dict[str, Any]],
         msg_id: int, face: Optional[int] = None, *, sess_sig: Optional[str] = None,
         service_type: Optional[int] = None, session: Optional[requests.Session] = None,
         timeout: Optional[float] = None) -> SendStatus:
    """Send one message and report its status (8.5, 8.7). One attempt; never raises for a
    failed send.

    :param kind: ``friend_message``, ``group_message``, ``discuss_message`` or ``sess_message``.
    :param target_id: friend id, group id, discussion id or member id.
    :param segments: txt/face segments (``codec.face_parse``).
    :param sess_sig: required for sess messages (``get_sess_sig``).
    :param service_type: sess only: 0 via a group, 1 via a discussion.
    :raises ValueError: unknown ``kind``.
    """
    payload = build_payload(creds, kind, target_id, segments, msg_id, face, sess_sig=sess_sig,
                            service_type=service_type)
    if kind == "sess_message" and not sess_sig:
        return NO_SESS_SIG
    try:
        data = t.json("POST", D1_WEB2 + ENDPOINTS[kind], session=session, form=r_form(payload),
                      referer=R_D, timeout=timeout, attempts=1)
    except TransportError as e:
        log.info("send %s failed: %s", kind, e)
        return NETWORK_FAILURE
    return parse_send_status(data, t.config.ignore_send_retcode)


def get_sess_sig(t: Transport, creds: Credentials, id: Any, to_uin: Any, service_type: int, *,
                 session: Optional[requests.Session] = None) -> Optional[str]:
    """The signature a sess message needs (get_c2cmsg_sig2, 8.6), or ``None``.

    :param id: the group id (service_type 0) or discussion id (1) the member is reached via.
    :param to_uin: the member's id.
    """
    params = [("id", id), ("to_uin", to_uin), ("service_type", service_type),
              ("clientid", creds.clientid), ("psessionid", creds.psessionid), ("t", unix_time())]
    try:
        data = t.json("GET", D1_WEB2 + "get_c2cmsg_sig2", params=params, referer=R_D,
                      session=session, attempts=max(1, t.config.ua_retry_times))
    except TransportError as e:
        log.info("sess signature failed: %s", e)
        return None
    if not isinstance(data, dict) or data.get("retcode") != 0:
        return None
    result = data.get("result")
    value = result.get("value") if isinstance(result, dict) else None
    return str(value) if value else None
