"""Message content on the wire, the service's side (protocol document 7.4, 7.5, 8.5).

* ``to_wire(text)`` turns an injected message into a poll2 ``content`` array: the font
  first, then text (HTML-escaped, as the service sent it) and ``["face", n]`` for every
  ``[name]`` of the face table.
* ``decode_sent(content_json)`` turns the ``content`` JSON text of a send into readable text
  (faces as ``[微笑]``), checking that the font element comes last.

Pure functions, thread-safe.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any, List, Union

from ..faces import FACE_IDS, FACES
from .generator import FONT

_BRACKETED = re.compile(r"\[[^\[\]]+\]")


class ContentError(ValueError):
    """A send's ``content`` is not a JSON array of segments with the font last."""


def to_wire(content: Union[str, List[Any]]) -> List[Any]:
    """Build a poll2 ``content`` array; a list is taken as raw segments (font added first)."""
    if isinstance(content, list):
        from .onebot.message import to_smartqq  # OneBot segments (dicts) are injected too
        return [["font", dict(FONT)]] + [to_smartqq(x) if isinstance(x, dict) else x for x in content]
    out: List[Any] = [["font", dict(FONT)]]
    pos = 0
    for m in _BRACKETED.finditer(content):
        face_id = FACE_IDS.get(m.group()[1:-1])
        if face_id is None:
            continue
        if m.start() > pos:
            out.append(html.escape(content[pos:m.start()]))
        out.append(["face", face_id])
        pos = m.end()
    if pos < len(content) or len(out) == 1:
        out.append(html.escape(content[pos:]))
    return out


def decode_sent(content_json: Any) -> str:
    """Decode the ``content`` of a send into text; raise ``ContentError`` when malformed."""
    if not isinstance(content_json, str):
        raise ContentError("content is not a JSON text")
    try:
        segments = json.loads(content_json)
    except ValueError as e:
        raise ContentError("content is not valid JSON") from e
    if not isinstance(segments, list) or not segments:
        raise ContentError("content is not a non-empty array")
    last = segments[-1]
    if not (isinstance(last, list) and last and last[0] == "font"):
        raise ContentError("the font element is not last")
    parts = []
    for seg in segments[:-1]:
        if isinstance(seg, str):
            parts.append(seg)
        elif isinstance(seg, list) and len(seg) == 2 and seg[0] == "face" and isinstance(seg[1], int):
            name = FACES.get(seg[1])
            parts.append("[%s]" % name if name else "[表情]")
        else:
            raise ContentError("unknown segment %r" % (seg,))
    return "".join(parts)


def echo_wire(content_json: str) -> List[Any]:
    """A checked send ``content`` re-ordered for poll2 (font first), for echoes."""
    segments = json.loads(content_json)
    return [segments[-1]] + [html.escape(x) if isinstance(x, str) else x for x in segments[:-1]]


def wire_text(segments: List[Any]) -> str:
    """The readable text of a poll2 content array (used for echoes and the sent log)."""
    parts = []
    for seg in segments[1:]:
        if isinstance(seg, str):
            parts.append(html.unescape(seg))
        elif isinstance(seg, list) and seg and seg[0] == "face":
            name = FACES.get(seg[1]) if len(seg) > 1 else None
            parts.append("[%s]" % name if name else "[表情]")
    return "".join(parts)
