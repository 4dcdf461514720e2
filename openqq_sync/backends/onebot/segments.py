"""OneBot v11 messages <-> Openqq ``content`` text. Pure functions, no I/O.

A OneBot message is a list of segments ``{"type": ..., "data": {...}}`` or the same as a
CQ string (``"你好[CQ:face,id=14]"``); servers send either (NapCat and LLBot default to
the array), so :func:`parse_message` accepts both.

Receive (:func:`render`): text as is (CRLF -> LF); a face by its QQ NT name (``[微笑]``,
unknown ids ``[表情]``); ``at`` as ``@<name>``; images ``[图片]`` and the other media as the
text QQ shows for them (``[语音]``, ``[文件]``...); ``reply`` renders as nothing (QQ shows
it as a quote, not as text; it stays in the raw segments); anything else is the original's
``[未识别内容]``. Each rendered piece is also returned as an Openqq raw segment
(``{"type": "txt"|"face"|<OneBot type>, "content": <text>, ...}``).

Send (:func:`outgoing`): ``[<NT face name>]`` becomes a face segment, the rest text
segments; sent as an array, so no CQ escaping is needed and ``[CQ:...]`` typed by a user
stays text.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Dict, List, Optional, Tuple

from ...faces import UNKNOWN_FACE
from ...faces_nt import NT_FACE_IDS, NT_FACES

__all__ = [
    "PICTURE",
    "UNKNOWN_CONTENT",
    "parse_cq",
    "to_cq",
    "parse_message",
    "render",
    "outgoing",
]

Segment = Dict[str, Any]
NameOf = Callable[[str], Optional[str]]

PICTURE = "[图片]"
UNKNOWN_CONTENT = "[未识别内容]"

# What QQ itself shows for media in a chat list; the rest are the original's unknown text.
_MEDIA_TEXT = {
    "image": PICTURE, "flash": PICTURE, "record": "[语音]", "video": "[视频]", "file": "[文件]",
    "mface": UNKNOWN_FACE, "sface": UNKNOWN_FACE, "dice": "[骰子]", "rps": "[猜拳]",
    "poke": "[戳一戳]", "shake": "[窗口抖动]", "location": "[位置]", "contact": "[名片]",
    "forward": "[聊天记录]", "node": "[聊天记录]", "music": "[分享]", "share": "[分享]",
    "json": "[分享]", "xml": "[分享]", "markdown": "[未识别内容]",
}

_BRACKETED = re.compile(r"\[([^\[\]]*)\]")
_CQ = re.compile(r"\[CQ:([A-Za-z0-9_.\-]+)((?:,[^\[\],=]+=[^\[\],]*)*),?\]")


# -- CQ strings ---------------------------------------------------------------------------
def _unescape(text: str) -> str:
    # &amp; last, so "&amp;#91;" stays the literal "&#91;" it encodes.
    return text.replace("&#91;", "[").replace("&#93;", "]").replace("&#44;", ",").replace("&amp;", "&")


def _escape(text: str, *, value: bool = False) -> str:
    text = text.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return text.replace(",", "&#44;") if value else text


def parse_cq(message: str) -> List[Segment]:
    """Split a CQ string into segments (values and text unescaped). Never raises; a
    malformed ``[CQ:`` stays text."""
    segments: List[Segment] = []
    pos = 0
    for m in _CQ.finditer(message):
        if m.start() > pos:
            segments.append({"type": "text", "data": {"text": _unescape(message[pos:m.start()])}})
        data: Dict[str, str] = {}
        for pair in m.group(2).split(",")[1:]:
            key, _, val = pair.partition("=")
            data[key] = _unescape(val)
        segments.append({"type": m.group(1), "data": data})
        pos = m.end()
    if pos < len(message):
        segments.append({"type": "text", "data": {"text": _unescape(message[pos:])}})
    return segments


def to_cq(segments: List[Segment]) -> str:
    """The CQ string of ``segments`` (the inverse of :func:`parse_cq`)."""
    out: List[str] = []
    for seg in segments:
        kind = seg.get("type")
        data = seg.get("data") or {}
        if kind == "text":
            out.append(_escape(str(data.get("text", ""))))
        else:
            args = "".join(",%s=%s" % (k, _escape(str(v), value=True)) for k, v in data.items())
            out.append("[CQ:%s%s]" % (kind, args))
    return "".join(out)


def parse_message(message: Any) -> List[Segment]:
    """An event's ``message`` as a segment list, whatever form it came in (array, CQ
    string, or one segment object); anything else is an empty message."""
    if isinstance(message, str):
        return parse_cq(message)
    if isinstance(message, dict):
        message = [message]
    if not isinstance(message, list):
        return []
    return [s for s in message if isinstance(s, dict) and isinstance(s.get("type"), str)]


# -- receive ------------------------------------------------------------------------------
def _face_id(data: Dict[str, Any]) -> Optional[int]:
    raw: Any = data.get("id")  # anything the server sent; int() judges it
    try:
        return int(raw)
    except (TypeError, ValueError):
        return None


def _at_text(data: Dict[str, Any], name_of: Optional[NameOf]) -> str:
    qq = str(data.get("qq", ""))
    if qq == "all":
        return "@全体成员"
    name = data.get("name") or (name_of(qq) if name_of is not None and qq else None)
    return "@" + str(name or qq)


def render(message: Any, name_of: Optional[NameOf] = None) -> Tuple[str, List[Segment]]:
    """``(content, raw segments)`` of a received message.

    :param message: the event's ``message`` (array, CQ string or one segment).
    :param name_of: resolves an ``at``'s QQ number to a display name when the segment
        carries none (NapCat adds ``name``; spec servers do not).
    """
    raw: List[Segment] = []
    for seg in parse_message(message):
        kind = seg["type"]
        found = seg.get("data")
        data: Dict[str, Any] = found if isinstance(found, dict) else {}
        if kind == "text":
            text = str(data.get("text", "")).replace("\r\n", "\n")
            if not text:
                continue
            if raw and raw[-1]["type"] == "txt":
                raw[-1] = {"type": "txt", "content": raw[-1]["content"] + text}
            else:
                raw.append({"type": "txt", "content": text})
            continue
        if kind == "face":
            face_id = _face_id(data)
            name = NT_FACES.get(face_id) if face_id is not None else None
            raw.append({"type": "face", "id": face_id, "content": "[%s]" % name if name else UNKNOWN_FACE})
            continue
        if kind == "at":
            content = _at_text(data, name_of)
        elif kind == "reply":
            content = ""
        else:
            content = _MEDIA_TEXT.get(kind, UNKNOWN_CONTENT)
        raw.append({"type": kind, "content": content, "data": dict(data)})
    return "".join(s["content"] for s in raw), raw


# -- send ---------------------------------------------------------------------------------
def outgoing(content: str) -> List[Segment]:
    """OneBot segments for an Openqq ``content``: ``[<NT face name>]`` -> face, the rest
    text (adjacent text merged; an empty content gives an empty list)."""
    segments: List[Segment] = []
    pos = 0

    def text(piece: str) -> None:
        if not piece:
            return
        if segments and segments[-1]["type"] == "text":
            segments[-1]["data"]["text"] += piece
        else:
            segments.append({"type": "text", "data": {"text": piece}})

    for m in _BRACKETED.finditer(content):
        face_id = NT_FACE_IDS.get(m.group(1))
        if face_id is None:
            continue
        text(content[pos:m.start()])
        segments.append({"type": "face", "data": {"id": str(face_id)}})
        pos = m.end()
    text(content[pos:])
    return segments
