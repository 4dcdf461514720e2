"""The JSON documents the Openqq plugin reported (protocol document 10.6, 10.7, 11.7).

Pure functions: signal payload in, plain dict out. No I/O, no locks.
"""

from __future__ import annotations

import base64
from typing import Any, Dict, List, Optional

from ..model import DiscussMember

#: Message types the original reported (others, e.g. a future "system" type, are dropped).
MESSAGE_TYPES = frozenset({"friend_message", "group_message", "discuss_message", "sess_message"})

#: Events the original kept for check_event when listed in post_event_list (11.8).
CHECK_EVENT_EVENTS = frozenset({
    "new_group", "new_friend", "new_group_member", "new_discuss", "new_discuss_member",
    "lose_group", "lose_friend", "lose_group_member", "lose_discuss", "lose_discuss_member",
    "group_property_change", "group_member_property_change", "friend_property_change",
    "user_property_change", "discuss_property_change", "discuss_member_property_change",
})


def to_json(obj: Any) -> Any:
    """An object's Openqq JSON (its ``to_json()``), ``None`` passed through."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj
    return obj.to_json()


def message_payload(msg: Any, post_type: str) -> Optional[Dict[str, Any]]:
    """Message JSON plus ``post_type``; ``None`` for a type the original did not report."""
    data = dict(to_json(msg))
    if data.get("type") not in MESSAGE_TYPES:
        return None
    if data.get("type") == "discuss_message" and data.get("class") == "send":
        # The original's sender of a discussion send is the account's member entry, whose
        # id is a hash key: a JSON string (protocol document 10.5).
        sender = getattr(msg, "sender", None)
        if isinstance(sender, DiscussMember):
            data["sender_id"] = sender.to_json().get("id")
    data["post_type"] = post_type
    return data


def event_params(name: str, kwargs: Dict[str, Any]) -> List[Any]:
    """The ``params`` array of event ``name`` from the signal's keyword payload (10.7)."""
    if name == "login":
        return [int(kwargs.get("is_scan", 0))]
    if name == "stop":
        return []
    if name == "state_change":
        return [kwargs.get("old"), kwargs.get("new")]
    if name == "input_qrcode":
        # MIME base64 (a newline every 76 characters and at the end), as the original sent.
        data = kwargs.get("data") or b""
        return [kwargs.get("path"), base64.encodebytes(data).decode("ascii")]
    if name.endswith("_property_change"):
        return [to_json(kwargs.get("obj")), kwargs.get("property"),
                kwargs.get("old"), kwargs.get("new")]
    if name in ("new_group_member", "lose_group_member"):
        return [to_json(kwargs.get("member")), to_json(kwargs.get("group"))]
    if name in ("new_discuss_member", "lose_discuss_member"):
        return [to_json(kwargs.get("member"))]
    for key in ("friend", "group", "discuss"):
        if key in kwargs:
            return [to_json(kwargs[key])]
    return [to_json(v) for v in kwargs.values()]


def event_payload(name: str, kwargs: Dict[str, Any]) -> Dict[str, Any]:
    return {"post_type": "event", "event": name, "params": event_params(name, kwargs)}
