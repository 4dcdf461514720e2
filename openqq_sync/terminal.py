"""One console line per message, as the original's ShowMsg plugin printed (protocol doc 15).

``format_message(msg)`` returns the line; ``ShowMsg(client).attach()`` logs every received
and sent message of one client on the ``openqq_sync.showmsg`` logger (receivers only format
and log, nothing blocks).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Optional

from . import signals

log = logging.getLogger(__name__)

_LABELS = {
    "friend_message": "好友消息",
    "group_message": "群消息",
    "discuss_message": "讨论组消息",
}


def _label(msg: Any) -> str:
    kind = msg.get("type")
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

    def __init__(self, client: Any, logger: logging.Logger = log) -> None:
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
