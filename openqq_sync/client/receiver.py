"""Turning received events into Messages: resolution, filters, dedupe (protocol doc 7.4-7.8).

Runs on the protocol thread. For each event of a receive:

* senders, groups and discussions are resolved by id; an unknown one triggers one reload
  of that list (7.6), then either a ``昵称未知`` placeholder (``ignore_unknown_id`` off) or
  the message is dropped (on, the default; no placeholder is left behind, so the next
  message from that id is looked up again instead of being dropped forever);
* the account's own messages are dropped unless ``allow_message_sync`` (7.7), in which
  case they are reported as sent from another device;
* a message id seen recently is dropped (the service may deliver a message twice);
* a presence event updates the friend's presence (the original lost the whole batch
  there, bug 6); a kicked event stops the client with the reason logged;
* a contacts event (OneBot's notices, a resync after its reconnect) reloads that part of
  the contacts through the loader and reports the differences, as a refresh does.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any, Deque, Dict, List, Mapping, Optional, Set, Tuple

from .. import signals
from ..backends import ContactsEvent, Event, KickedEvent, MessageEvent, PresenceEvent
from ..errors import Kicked
from ..model import Message
from .contacts import Change
from .loader import Loader
from .runtime import Runtime

log = logging.getLogger(__name__)

DEDUPE_SIZE = 4096
RELOAD_MIN_INTERVAL = 5.0   # seconds between "unknown id" reloads of one list


class Receiver:
    """Builds and dispatches received messages for one client. Protocol thread only."""

    def __init__(self, rt: Runtime, loader: Loader) -> None:
        self._rt = rt
        self._loader = loader
        self._seen: Set[Tuple[str, Any]] = set()
        self._order: Deque[Tuple[str, Any]] = collections.deque()
        self._last_reload: Dict[str, float] = {}

    # -- reloads for unknown ids (rate-limited) -------------------------------------------
    def _reload(self, kind: str) -> None:
        now = time.monotonic()
        if now - self._last_reload.get(kind, -1e9) < RELOAD_MIN_INTERVAL:
            return
        self._last_reload[kind] = now
        loader = self._loader
        fn = {"friend": loader.reload_friends, "group": loader.reload_groups,
              "discuss": loader.reload_discusses}[kind]
        log.info("unknown %s id in a message: reloading the %s list", kind, kind)
        self._rt.emit_changes(fn())

    def _reload_owner(self, owner: Any) -> None:
        key = f"members:{owner.KIND}:{owner.get('id')}"
        now = time.monotonic()
        if now - self._last_reload.get(key, -1e9) < RELOAD_MIN_INTERVAL:
            return
        self._last_reload[key] = now
        loader = self._loader
        changes: List[Change] = loader.load_group(owner) if owner.KIND == "group" else loader.load_discuss(owner)
        self._rt.emit_changes(changes)

    def _friend(self, friend_id: Any) -> Tuple[Any, bool]:
        store = self._rt.contacts
        friend = store.friend(friend_id)
        if friend is None:
            self._reload("friend")
            friend = store.friend(friend_id)
        if friend is None and not self._rt.config.ignore_unknown_id:
            return store.add_placeholder_friend(friend_id), True
        return friend, friend is None or friend.placeholder

    def _owner(self, kind: str, owner_id: Any) -> Any:
        store = self._rt.contacts
        find = store.group if kind == "group" else store.discuss
        owner = find(owner_id)
        if owner is None:
            self._reload(kind)
            owner = find(owner_id)
        return owner

    def _member(self, owner: Any, member_id: Any) -> Tuple[Any, bool]:
        member = owner.member(member_id)
        if member is None:
            self._reload_owner(owner)
            member = owner.member(member_id)
        if member is None and not self._rt.config.ignore_unknown_id:
            return self._rt.contacts.add_placeholder_member(owner, member_id), True
        return member, member is None or member.placeholder

    # -- one item ----------------------------------------------------------------------------
    def handle(self, event: Event) -> None:
        """Process one event; never raises for a bad one (it is logged and skipped).

        :raises Kicked: the event says the session was forced offline.
        """
        if isinstance(event, KickedEvent):
            raise Kicked(event.reason or "forced offline")
        try:
            if isinstance(event, PresenceEvent):
                self._rt.emit_changes(self._rt.contacts.update_friend_presence(
                    event.friend_id, event.state, event.client_type))
                return
            if isinstance(event, ContactsEvent):
                self._rt.emit_changes(self._contacts(event))
                return
            if isinstance(event, MessageEvent):
                kind = event.item.get("type")
                if kind in ("friend_message", "group_message", "discuss_message", "sess_message"):
                    msg = self._build(str(kind), event.item)
                    if msg is not None:
                        self._dispatch(msg)
                    return
            log.debug("ignoring event %r", event)
        except Exception:
            log.exception("could not process the event %r", event)

    def _contacts(self, event: ContactsEvent) -> List[Change]:
        loader = self._loader
        if event.scope == "all":
            return loader.refresh()
        if event.scope == "friends":
            return loader.reload_friends()
        if event.scope == "groups":
            return loader.reload_groups()
        if event.scope == "group":
            group = self._rt.contacts.group(event.group_id)
            # A group not known yet comes with its members through the list.
            return loader.load_group(group) if group is not None else loader.reload_groups()
        log.warning("ignoring a contacts event of unknown scope %r", event.scope)
        return []

    def _duplicate(self, kind: str, msg_id: Any) -> bool:
        if msg_id is None:
            return False
        key = (kind, msg_id)
        if key in self._seen:
            return True
        self._seen.add(key)
        self._order.append(key)
        if len(self._order) > DEDUPE_SIZE:
            self._seen.discard(self._order.popleft())
        return False

    def _build(self, kind: str, item: Mapping[str, Any]) -> Optional[Message]:
        rt = self._rt
        store = rt.contacts
        user = store.user
        if self._duplicate(kind, item.get("id")):
            log.debug("dropping duplicate %s %s", kind, item.get("id"))
            return None
        fields: Dict[str, Any] = {
            "id": item.get("id"),
            "sender_id": item.get("sender_id"),
        }
        if item.get("receiver_id") is not None:
            fields["receiver_id"] = item.get("receiver_id")
        fields["time"] = item.get("time") or int(time.time())
        fields["content"] = item.get("content", "")
        raw = item.get("raw_content") or []
        own = user is not None and str(item.get("sender_id")) == str(user.get("id"))
        sender: Any = None
        receiver: Any = user
        group: Any = None
        discuss: Any = None
        unknown = False

        if kind == "friend_message":
            if own:
                sender = user
                receiver, _ = self._friend(item.get("receiver_id"))
            else:
                sender, unknown = self._friend(item.get("sender_id"))
        elif kind in ("group_message", "discuss_message"):
            owner_kind = "group" if kind == "group_message" else "discuss"
            owner_id = item.get(owner_kind + "_id")
            owner = self._owner(owner_kind, owner_id)
            if owner is None:
                what = "group" if owner_kind == "group" else "discussion"
                log.info("dropping a %s message for unknown %s %s", what, what, owner_id)
                return None
            fields[owner_kind + "_id"] = owner_id
            if own:
                sender = owner.member(item.get("sender_id")) or user
                receiver = None
            else:
                sender, unknown = self._member(owner, item.get("sender_id"))
                receiver = owner.member(item.get("receiver_id")) or user
            if owner_kind == "group":
                group = owner
            else:
                discuss = owner
        else:  # sess_message
            via = item.get("via")
            fields["via"] = via
            owner_kind = "group" if via == "group" else "discuss"
            owner_id = item.get("group_id") if via == "group" else item.get("discuss_id")
            owner = self._owner(owner_kind, owner_id)
            if owner is None:
                log.info("dropping a sess message via unknown %s %s", owner_kind, owner_id)
                return None
            fields[owner_kind + "_id"] = owner_id
            if owner_kind == "group":
                group = owner
            else:
                discuss = owner
            if own:
                sender = user
                receiver, _ = self._member(owner, item.get("receiver_id"))
            else:
                sender, unknown = self._member(owner, item.get("sender_id"))
        if sender is None or (unknown and rt.config.ignore_unknown_id):
            log.info("dropping a %s from unknown id %s", kind, item.get("sender_id"))
            return None
        msg = Message(kind, "send" if own else "recv", sender=sender, receiver=receiver, group=group,
                      discuss=discuss, raw_content=list(raw), **fields)
        if own:
            msg.set(source="outer")
        msg._client = rt.owner
        return msg

    def _dispatch(self, msg: Message) -> None:
        rt = self._rt
        if msg.is_send:
            # Our own message echoed by the service: sent by another device or by us (7.7).
            if not rt.config.allow_message_sync:
                log.debug("dropping own message %s (allow_message_sync is off)", msg.id)
                return
            msg.set_status(0, "发送成功", "来自其他设备")
            rt.emit(signals.send_message, msg=msg)
            return
        rt.emit(signals.receive_message, msg=msg)
