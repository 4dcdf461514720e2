"""What is printed for a person: the ShowMsg line per message and the QR code in a terminal.

One console line per message, as the original's ShowMsg plugin printed (protocol doc 15).

``format_message(msg)`` returns the line; ``ShowMsg(client).attach()`` logs every received
and sent message of one client on the ``openqq_sync.terminal`` logger (receivers only format
and log, nothing blocks).

``render_qrcode(png)`` prints a QR code PNG in a terminal with Unicode half blocks.

The PNG is only sampled, never decoded as a QR code: dark pixels are found, the module size
is read off the top-left finder pattern (7 modules wide), and each module's centre pixel
decides dark or light. Two module rows share one text row (``▀``, ``▄``, ``█``, space).
Light modules are drawn as blocks, so the code reads on a dark terminal background.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, List, Optional

from . import signals

if TYPE_CHECKING:
    from .client.client import Client

# The message lines keep the logger name they always had (users filter on it).
log = logging.getLogger("openqq_sync.showmsg")

_LABELS = {
    "friend_message": "好友消息",
    "group_message": "群消息",
    "discuss_message": "讨论组消息",
}


def _label(msg: Any) -> str:
    kind: str = msg.get("type")
    if kind == "sess_message":
        return "讨论组临时消息" if msg.get("via") == "discuss" else "群临时消息"
    return _LABELS.get(kind, kind)


def _name(obj: Any) -> str:
    if obj is None:
        return "?"
    name = obj.displayname
    return name if name is not None else str(obj.get("id"))


def format_message(msg: Any, *, now: Optional[float] = None) -> str:
    """``[time] [label] who : content`` with the original's labels; failed sends say why."""
    stamp = time.strftime("%y/%m/%d %H:%M:%S", time.localtime(msg.get("time") or now or time.time()))
    kind = msg.get("type")
    if msg.get("class") == "send":
        if kind == "group_message":
            target = msg.group
        elif kind == "discuss_message":
            target = msg.discuss
        else:
            target = msg.receiver
        who = f"我->{_name(target)}"
    else:
        place: Any = None
        if kind == "friend_message":
            place = msg.sender.get("category") if msg.sender is not None else None
        elif msg.group is not None:
            place = _name(msg.group)
        elif msg.discuss is not None:
            place = _name(msg.discuss)
        who = _name(msg.sender) + (f"|{place}" if place else "")
    line = f"[{stamp}] [{_label(msg)}] {who} : {msg.get('content')}"
    code = msg.get("code")
    if msg.get("class") == "send" and code is not None and code != 0:
        line += f" [发送失败({msg.get('info')})]"
    return line


class ShowMsg:
    """Logs one client's messages; ``attach()``/``detach()`` connect and disconnect."""

    def __init__(self, client: Client, logger: logging.Logger = log) -> None:
        self._client = client
        self._log = logger

    def _on_message(self, sender: Any, msg: Any = None, **_: Any) -> None:
        # Runs on the sender and poll threads for every message: no line to build when
        # nobody logs it (``--log-level warning``).
        if not self._log.isEnabledFor(logging.INFO):
            return
        try:
            self._log.info("%s", format_message(msg))
        except Exception:  # a console line must never disturb the client
            self._log.debug("could not format %r", msg, exc_info=True)

    def attach(self) -> "ShowMsg":
        signals.receive_message.connect(self._on_message, sender=self._client, weak=False)
        signals.send_message.connect(self._on_message, sender=self._client, weak=False)
        return self

    def detach(self) -> None:
        signals.receive_message.disconnect(self._on_message, sender=self._client)
        signals.send_message.disconnect(self._on_message, sender=self._client)


# -- the QR code in a terminal --------------------------------------------------------

Grid = List[List[bool]]  # True = dark module


def _dark_pixels(data: bytes) -> Grid:
    import png  # here, not with the module: a client that never prints a QR code never needs it
    width, height, rows, _info = png.Reader(bytes=data).asRGBA8()
    grid: Grid = []
    for row in rows:
        line = []
        for x in range(width):
            r, g, b, a = row[4 * x: 4 * x + 4]
            line.append(a > 127 and (r + g + b) < 3 * 128)
        grid.append(line)
    return grid


def modules(data: bytes) -> Optional[Grid]:
    """The QR modules of a PNG as a boolean grid, or None if no QR-like square is found."""
    pixels = _dark_pixels(data)
    dark_rows = [y for y, line in enumerate(pixels) if any(line)]
    if not dark_rows:
        return None
    top, bottom = dark_rows[0], dark_rows[-1]
    cols = [x for x in range(len(pixels[0])) if any(pixels[y][x] for y in dark_rows)]
    left, right = cols[0], cols[-1]
    # The top-left finder pattern starts with a dark run of 7 modules.
    run = 0
    while left + run <= right and pixels[top][left + run]:
        run += 1
    size = run / 7.0
    if size <= 0:
        return None
    count = int(round((right - left + 1) / size))
    rows_count = int(round((bottom - top + 1) / size))
    grid: Grid = []
    for j in range(rows_count):
        y = min(bottom, top + int((j + 0.5) * size))
        grid.append([pixels[y][min(right, left + int((i + 0.5) * size))] for i in range(count)])
    return grid


def render_qrcode(data: bytes, *, border: int = 2) -> str:
    """The QR of a PNG as text lines (empty string if the image holds no QR)."""
    grid = modules(data)
    if not grid:
        return ""
    width = len(grid[0]) + 2 * border
    light_row = [False] * width
    rows = [light_row] * border + [[False] * border + r + [False] * border for r in grid] + [light_row] * border
    if len(rows) % 2:
        rows.append(light_row)
    out = []
    for y in range(0, len(rows), 2):
        top, bottom = rows[y], rows[y + 1]
        line = []
        for x in range(width):
            t, b = not top[x], not bottom[x]  # light modules are drawn
            line.append("█" if t and b else "▀" if t else "▄" if b else " ")
        out.append("".join(line))
    return "\n".join(out)
