"""OneBot v11 messages: segment arrays, CQ strings, and the crossing to and from SmartQQ content.

* ``from_world(content, wire)``: the segments of a message injected into the world
  (``SandboxWorld.inject_message``): OneBot segments given as dicts are kept, SmartQQ content
  (``[微笑]`` text, raw poll2 segments) is read from its poll2 ``wire`` form.
* ``parse(message, auto_escape)``: the ``message`` parameter of a send (a CQ string, an array
  of segments or one segment) as a list of segments; ``MessageError`` when malformed.
* ``to_cq(segments)``: the CQ string (``raw_message``, and ``message`` in string format).
* ``to_text(segments)``: readable text, faces as ``[微笑]`` (the sent log, SmartQQ's view).
* ``to_smartqq(segment)``: one OneBot segment as a poll2 content element.

Face ids cross by name (``faces.py``); an NT id without a SmartQQ name becomes ``[表情]``.
Pure functions, thread-safe.
"""

from __future__ import annotations

import html
import re
from typing import Any, Dict, List, Union

from ...faces import FACE_IDS, FACES, UNKNOWN_FACE
from .faces import NT_FACE_IDS, NT_FACE_NAMES

Segment = Dict[str, Any]

_CQ = re.compile(r"\[CQ:([A-Za-z0-9_.-]+)((?:,[^,\]]*)*)\]")


class MessageError(ValueError):
    """A send's ``message`` is neither a CQ string, a segment, nor an array of segments."""


def text(s: str) -> Segment:
    return {"type": "text", "data": {"text": s}}


def _escape(s: str, comma: bool = False) -> str:
    s = s.replace("&", "&amp;").replace("[", "&#91;").replace("]", "&#93;")
    return s.replace(",", "&#44;") if comma else s


def _unescape(s: str) -> str:
    return s.replace("&#44;", ",").replace("&#91;", "[").replace("&#93;", "]").replace("&amp;", "&")


def to_cq(segments: List[Segment]) -> str:
    """The CQ-code string of ``segments`` (text escaped, parameter values escaped with ``,``)."""
    out = []
    for seg in segments:
        data = seg.get("data") or {}
        if seg["type"] == "text":
            out.append(_escape(str(data.get("text", ""))))
        else:
            params = "".join(",%s=%s" % (k, _escape(str(v), comma=True)) for k, v in data.items() if v is not None)
            out.append("[CQ:%s%s]" % (seg["type"], params))
    return "".join(out)


def _merge_text(segments: List[Segment]) -> List[Segment]:
    out: List[Segment] = []
    for seg in segments:
        if seg["type"] == "text":
            if not seg["data"]["text"]:
                continue
            if out and out[-1]["type"] == "text":
                out[-1] = text(out[-1]["data"]["text"] + seg["data"]["text"])
                continue
        out.append(seg)
    return out


def _face(smartqq_id: Any) -> Segment:
    name = FACES.get(smartqq_id) if isinstance(smartqq_id, int) else None
    nt = NT_FACE_IDS.get(name) if name else None
    return {"type": "face", "data": {"id": str(nt)}} if nt is not None else text(UNKNOWN_FACE)


def from_wire(wire: List[Any]) -> List[Segment]:
    """Segments of a poll2 content array (font first, text HTML-escaped)."""
    out: List[Segment] = []
    for el in wire:
        if isinstance(el, str):
            out.append(text(html.unescape(el)))
        elif isinstance(el, list) and el and el[0] == "font":
            continue
        elif isinstance(el, list) and len(el) == 2 and el[0] == "face":
            out.append(_face(el[1]))
        elif isinstance(el, list) and el and el[0] in ("cface", "offpic"):
            info = el[1] if len(el) > 1 and isinstance(el[1], dict) else {}
            name = str(info.get("name") or info.get("file_path") or "image.jpg")
            out.append({"type": "image", "data": {"file": name, "url": ""}})
        else:
            out.append(text("[%s]" % (el[0] if isinstance(el, list) and el else "?")))
    return _merge_text(out) or [text("")]


def from_world(content: Any, wire: List[Any]) -> List[Segment]:
    """The OneBot segments of an injected message (see the module docstring)."""
    if isinstance(content, list) and any(isinstance(x, dict) for x in content):
        return parse(content, False)
    return from_wire(wire)


def _segment(seg: Any) -> Segment:
    if not isinstance(seg, dict) or not isinstance(seg.get("type"), str) or not seg["type"]:
        raise MessageError("a segment must be an object with a string type")
    data = seg.get("data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise MessageError("the data of a %s segment must be an object" % seg["type"])
    t = seg["type"]
    if t == "text":
        return text(str(data.get("text", "")))
    if t in ("face", "reply") and "id" not in data:
        raise MessageError("a %s segment needs an id" % t)
    if t == "at" and "qq" not in data:
        raise MessageError("an at segment needs qq")
    # Ids travel as strings (onebot.md 2.4), whatever number type the bot sent.
    return {"type": t, "data": {k: str(v) if k in ("id", "qq") else v for k, v in data.items()}}


def parse(message: Any, auto_escape: Any = False) -> List[Segment]:
    """The segments of a send's ``message``; raises ``MessageError``."""
    if isinstance(message, str):
        if auto_escape in (True, "true", "1", 1):
            return [text(message)] if message else []
        out: List[Segment] = []
        pos = 0
        for m in _CQ.finditer(message):
            if m.start() > pos:
                out.append(text(_unescape(message[pos:m.start()])))
            data: Dict[str, str] = {}
            for part in m.group(2).split(",")[1:]:
                k, _, v = part.partition("=")
                data[k] = _unescape(v)
            out.append(_segment({"type": m.group(1), "data": data}))
            pos = m.end()
        if pos < len(message):
            out.append(text(_unescape(message[pos:])))
        return _merge_text(out)
    if isinstance(message, dict):
        return _merge_text([_segment(message)])
    if isinstance(message, list):
        return _merge_text([_segment(s) for s in message])
    raise MessageError("message must be a string, a segment or an array of segments")


def face_name(nt_id: Any) -> str:
    try:
        return NT_FACE_NAMES[int(nt_id)]
    except (KeyError, TypeError, ValueError):
        return ""


def to_text(segments: List[Segment]) -> str:
    """Readable text: faces as ``[name]`` (unknown ``[表情]``), ``@qq``, ``[图片]``; replies dropped."""
    parts = []
    for seg in segments:
        t, data = seg["type"], seg.get("data") or {}
        if t == "text":
            parts.append(str(data.get("text", "")))
        elif t == "face":
            name = face_name(data.get("id"))
            parts.append("[%s]" % name if name else UNKNOWN_FACE)
        elif t == "at":
            parts.append("@全体成员" if data.get("qq") == "all" else "@%s" % data.get("qq"))
        elif t == "image":
            parts.append("[图片]")
        elif t != "reply":
            parts.append("[%s]" % t)
    return "".join(parts)


def to_smartqq(seg: Segment) -> Union[str, List[Any]]:
    """One OneBot segment as a poll2 content element (text HTML-escaped, as the service sent)."""
    t, data = seg.get("type"), seg.get("data") or {}
    if t == "face":
        name = face_name(data.get("id"))
        if name in FACE_IDS:
            return ["face", FACE_IDS[name]]
        return UNKNOWN_FACE
    if t == "image":
        return ["cface", {"name": str(data.get("file", "")), "file_id": 0, "key": "", "server": ""}]
    if t == "text":
        return html.escape(str(data.get("text", "")))
    return html.escape(to_text([_segment(seg)]))
