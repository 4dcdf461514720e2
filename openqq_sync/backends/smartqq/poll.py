"""One poll2 call and its answer (protocol document 7.1-7.5).

``poll()`` sends one long poll and turns the answer into a :class:`PollResult` of item
dicts, or raises the error that tells the core what to do (T6): ``LoginExpired`` →
relogin, ``NeedRelink`` → relink, other ``ProtocolError`` → count a failure,
``PollTimeout`` → poll again, ``TransportError`` (network, any non-2xx including 502/504,
bad JSON) → back off and poll again. Unlike the original (bug 5) a 502/504 is reported
like any other failure, and (bug 6) one element that cannot be parsed never costs the
rest of its batch.

Items (all carry ``type``):

* messages: ``friend_message``, ``group_message``, ``discuss_message``, ``sess_message`` with
  ``id, sender_id, receiver_id, group_id | discuss_id, via, time, content (text),
  raw_content (segments)``; sess messages add ``service_type`` and ``via`` (``group`` or
  ``discuss``); a ``group_web_message`` shared-file notice is a ``group_message`` whose
  ``shared_file`` holds the file name.
* ``buddies_status_change``: ``friend_id, state, client_type``.
* ``kick_message``: ``reason`` (the text to report) and ``show_reason``.
"""

from __future__ import annotations

import html
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import requests

from ...errors import LoginExpired, NeedRelink, ProtocolError
from ._wire import D1_WEB2, R_D, r_form
from .codec import decode_content
from .contacts import code2client
from .login import Credentials
from .transport import Transport

log = logging.getLogger(__name__)

__all__ = ["PollResult", "poll", "parse_poll_body", "parse_item", "POLL_URL", "RETCODE_NEW_PTWEBQQ"]

POLL_URL = D1_WEB2 + "poll2"
RETCODE_NEW_PTWEBQQ = 116
DEFAULT_IGNORED = (102, 109, 110, 1202, 100012)
SHARED_FILE = "共享文件"
KICKED = "您已被迫下线"

Item = Dict[str, Any]


@dataclass(frozen=True)
class PollResult:
    """What one poll2 brought: ``retcode`` (0, 116 or an ignored one), items, new ptwebqq."""

    retcode: int
    items: List[Item] = field(default_factory=list)
    ptwebqq: Optional[str] = None


def poll(t: Transport, creds: Credentials, *, session: Optional[requests.Session] = None,
         timeout: Optional[float] = None) -> PollResult:
    """Send one poll2 and classify its answer (7.2).

    :param session: the poll thread's own Session (so ``Transport.abort`` can cut it).
    :param timeout: read timeout; must exceed the server's hold time.
    :raises LoginExpired: retcode 100, 103, 100000.
    :raises NeedRelink: retcode 120, 121.
    :raises ProtocolError: any other retcode not in ``config.ignore_poll_retcode``.
    :raises PollTimeout: nothing within ``timeout``.
    :raises TransportError: network error, non-2xx (502/504 included), invalid JSON.
    """
    payload = {"ptwebqq": creds.ptwebqq, "clientid": creds.clientid,
               "psessionid": creds.psessionid, "key": ""}
    data = t.json("POST", POLL_URL, session=session, form=r_form(payload), referer=R_D,
                  timeout=timeout, attempts=1)
    ignored = t.config.ignore_poll_retcode
    result = parse_poll_body(data, ignored)
    if result.retcode == RETCODE_NEW_PTWEBQQ and result.ptwebqq is not None:
        t.set_cookie("ptwebqq", result.ptwebqq, "qq.com")
    return result


def parse_poll_body(data: Any, ignored: Any = DEFAULT_IGNORED) -> PollResult:
    """Classify a parsed poll2 body; see :func:`poll` for the errors."""
    if not isinstance(data, dict):
        raise ProtocolError(None, data, "poll2 answer is not a JSON object")
    code = data.get("retcode", 0)
    if code is None:
        code = 0
    if isinstance(code, bool) or not isinstance(code, int):
        raise ProtocolError(None, data, "poll2 retcode is not an integer")
    if code == 0:
        return PollResult(0, parse_items(data.get("result")))
    if code == RETCODE_NEW_PTWEBQQ:
        p = data.get("p")
        return PollResult(code, [], None if p is None else str(p))
    err = ProtocolError.for_retcode(code, data)
    if isinstance(err, (LoginExpired, NeedRelink)):
        raise err
    if code in set(ignored or ()):
        return PollResult(code, [])
    raise err


def parse_items(result: Any) -> List[Item]:
    """Every element of ``result`` that maps to an item; a bad element is logged and skipped."""
    items: List[Item] = []
    if not isinstance(result, list):
        return items
    for element in result:
        try:
            item = parse_item(element)
        except Exception:  # noqa: BLE001 - one bad element must not cost the batch (bug 6)
            log.warning("skipping an unparsable poll2 element: %.300r", element, exc_info=True)
            continue
        if item is not None:
            items.append(item)
    return items


def _message(kind: str, value: Dict[str, Any], **ids: Any) -> Item:
    text, segments = decode_content(value.get("content"))
    item: Item = {"type": kind, "id": value.get("msg_id"), "sender_id": None, "receiver_id": value.get("to_uin"),
                  "via": None, "time": value.get("time"), "content": text, "raw_content": segments}
    item.update(ids)
    return item


def parse_item(element: Any) -> Optional[Item]:
    """One ``{"poll_type", "value"}`` element → an item, or ``None`` for ignored types."""
    if not isinstance(element, dict):
        return None
    kind = element.get("poll_type")
    value = element.get("value")
    if not isinstance(value, dict):
        return None
    if kind == "message":
        return _message("friend_message", value, sender_id=value.get("from_uin"))
    if kind == "group_message":
        return _message("group_message", value, group_id=value.get("from_uin"),
                        sender_id=value.get("send_uin"))
    if kind == "discu_message":
        return _message("discuss_message", value, discuss_id=value.get("did"),
                        sender_id=value.get("send_uin"))
    if kind == "sess_message":
        service_type = value.get("service_type")
        if service_type == 0:
            where = {"via": "group", "group_id": value.get("id")}
        elif service_type == 1:
            where = {"via": "discuss", "discuss_id": value.get("id")}
        else:
            log.info("dropping a sess message with service_type %r", service_type)
            return None
        return _message("sess_message", value, sender_id=value.get("from_uin"),
                        service_type=service_type, ruin=value.get("ruin"), **where)
    if kind == "buddies_status_change":
        return {"type": "buddies_status_change", "friend_id": value.get("uin"),
                "state": value.get("status"), "client_type": code2client(value.get("client_type"))}
    if kind == "kick_message":
        show = value.get("show_reason")
        reason = value.get("reason") if str(show) == "1" and value.get("reason") else KICKED
        return {"type": "kick_message", "show_reason": show, "reason": reason}
    if kind == "group_web_message":
        return _shared_file(value)
    return None


_N_TAG = re.compile(r"<n\b([^>]*)/?>", re.S)
_ATTR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')


def _n_elements(xml: str) -> List[Dict[str, str]]:
    # Imported at the first shared file, not with the module: most clients never see one, and
    # every client process would otherwise hold the XML parser in memory.
    import xml.etree.ElementTree as ET
    try:
        root = ET.fromstring(xml)
        ds = [root] if root.tag == "d" else list(root.iter("d"))
        return [dict(n.attrib) for d in ds for n in d.findall("n")]
    except ET.ParseError:
        # The service's XML is not always well-formed; the attributes are all we need.
        return [{k: html.unescape(v) for k, v in _ATTR.findall(m.group(1))} for m in _N_TAG.finditer(xml)]


def _shared_file(value: Dict[str, Any]) -> Optional[Item]:
    xml = value.get("xml")
    if not isinstance(xml, str):
        return None
    texts = [n.get("s", "") for n in _n_elements(xml) if n.get("t") == "t"]
    if SHARED_FILE not in texts:
        return None
    name = next((s for s in texts if s != SHARED_FILE), "")
    text = "%s [%s]" % (SHARED_FILE, name)
    return {"type": "group_message", "id": value.get("msg_id"), "sender_id": value.get("send_uin"),
            "receiver_id": value.get("to_uin"), "group_id": value.get("from_uin"), "via": None,
            "time": int(time.time()), "content": text,
            "raw_content": [{"type": "txt", "content": text}], "shared_file": name}
