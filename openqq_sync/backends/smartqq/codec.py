"""Message content in both directions, and the text helpers of sections 4, 7.5 and 8.

Pure functions, no I/O. A *segment* is a dict with at least ``type`` and ``content``
(the text the segment renders as):

* ``{"type": "txt", "content": "..."}``
* ``{"type": "face", "id": 14, "content": "[微笑]"}``
* ``{"type": "emoji", "id": ":joy:", "content": "[高兴]"}`` (receive only)
* ``{"type": "cface", "content": "[图片]", "name", "file_id", "key", "server"}`` (receive only)
* ``{"type": "offpic", "content": "[图片]", "file_path"}`` (receive only)
* ``{"type": "unknown", "content": "[未识别内容]"}`` (receive only)
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, Dict, List, Optional, Tuple

from ...faces import EMOJI, EMOJI_PATTERN, FACES, UNKNOWN_FACE, face_parse, replace_comp_sign
from ...faces import append_text as _append_text
from ...faces import text_segment as _txt

__all__ = [
    "DEFAULT_FONT",
    "face_parse",
    "encode_content",
    "decode_content",
    "entity_decode",
    "replace_comp_sign",
    "safe_truncate",
    "segments_text",
]

Segment = Dict[str, Any]

PICTURE = "[图片]"
UNKNOWN_CONTENT = "[未识别内容]"

# The font block the web client always appended; the service wanted it as the last element.
DEFAULT_FONT: Dict[str, Any] = {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}

_EMOJI = re.compile(EMOJI_PATTERN)


def segments_text(segments: List[Segment]) -> str:
    """The text a list of segments renders as."""
    return "".join(str(s.get("content", "")) for s in segments)


def encode_content(segments: List[Segment], font: Optional[Dict[str, Any]] = None) -> str:
    """The ``content`` JSON text of a send (8.5): segments in order, then the font LAST.

    Text segments become strings, faces ``["face", n]``; any other segment is sent as its
    rendered text. Non-ASCII stays raw UTF-8.
    """
    items: List[Any] = []
    for seg in segments:
        if seg.get("type") == "face":
            items.append(["face", int(seg["id"])])
        else:
            items.append(str(seg.get("content", "")))
    items.append(["font", font if font is not None else DEFAULT_FONT])
    return json.dumps(items, ensure_ascii=False, separators=(",", ":"))


def entity_decode(s: Optional[str]) -> Optional[str]:
    """``&nbsp;`` to a space, then HTML entities (named and numeric) decoded (section 4)."""
    if s is None or not isinstance(s, str):
        return s
    if "&" not in s:
        return s
    return html.unescape(s.replace("&nbsp;", " "))


def _split_emoji(text: str, out: List[Segment]) -> None:
    pos = 0
    for m in _EMOJI.finditer(text):
        name = EMOJI.get(m.group(0))
        if name is None:
            continue
        _append_text(out, text[pos:m.start()])
        out.append({"type": "emoji", "id": m.group(0), "content": "[%s]" % name})
        pos = m.end()
    _append_text(out, text[pos:])


def _face_segment(face_id: Any) -> Segment:
    name = FACES.get(face_id) if isinstance(face_id, int) and face_id != 0 else None
    return {"type": "face", "id": face_id, "content": "[%s]" % name if name else UNKNOWN_FACE}


def _array_segment(item: List[Any]) -> Segment:
    kind = item[0] if item else None
    arg = item[1] if len(item) > 1 else None
    if kind == "face":
        return _face_segment(arg)
    if kind == "cface" and isinstance(arg, dict):
        seg = {"type": "cface", "content": PICTURE}
        for key in ("name", "file_id", "key", "server"):
            seg[key] = arg.get(key)
        return seg
    if kind == "offpic" and isinstance(arg, dict):
        return {"type": "offpic", "content": PICTURE, "file_path": arg.get("file_path")}
    return {"type": "unknown", "content": UNKNOWN_CONTENT}


def decode_content(content: Any) -> Tuple[str, List[Segment]]:
    """Parse a received ``content`` array (7.5) into ``(text, segments)``.

    The first element is the font and is dropped; a content that is only a font is a
    picture the service dropped (``[图片]``). Strings are entity-decoded, CRLF becomes LF
    and known ``:emoji:`` names become emoji segments. Never raises on odd input.
    """
    if not isinstance(content, list):
        content = [None, content] if isinstance(content, str) else []
    if len(content) == 1 and isinstance(content[0], list) and content[0][:1] == ["font"]:
        segments = [_txt(PICTURE)]
        return PICTURE, segments
    segments: List[Segment] = []
    for item in content[1:]:
        if isinstance(item, str):
            text = entity_decode(item).replace("\r\n", "\n")
            _split_emoji(text, segments)
        elif isinstance(item, list):
            segments.append(_array_segment(item))
        else:
            segments.append({"type": "unknown", "content": UNKNOWN_CONTENT})
    return segments_text(segments), segments


def safe_truncate(s: Optional[str], length: int = 21) -> Optional[str]:
    """Cut ``s`` to at most ``length`` UTF-8 bytes on a character boundary (section 4)."""
    if s is None or not isinstance(s, str):
        return s
    raw = s.encode("utf-8")
    if len(raw) <= length:
        return s
    return raw[:length].decode("utf-8", "ignore")
