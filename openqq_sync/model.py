"""Contacts and messages as plain objects, shaped as the original's JSON (protocol doc 10).

No I/O and no imports from the project above this module (house style S1).

A contact object keeps **every key of the record it was built from** (protocol doc 6: the
fetchers' records pass straight through to the API), reads them as attributes, and
``to_json()`` returns every stored key not starting with ``_``. A group or discussion
carries a ``member`` array in its JSON only once its member list was touched.

Thread-safety: objects are mutated only by the :class:`~openqq_sync.client.contacts.ContactStore`
under its lock. Readers on other threads see each assignment whole: a stored value is
replaced, never mutated in place, and member lists are replaced copy-on-write, so a reader
holding an old list keeps a consistent one.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, NewType, Optional, Tuple

Uin = NewType("Uin", int)            # session-scoped id of a contact (SmartQQ "uin"/"gid"/"did")
QQNumber = NewType("QQNumber", int)  # the real QQ number ("uid")

#: One property change: (property, old, new).
PropertyChange = Tuple[str, Any, Any]

_SCALARS = (str, int, float, bool)


def same_value(old: Any, new: Any) -> bool:
    """Compare two stored values as the original did: scalars as strings (``1 == "1"``)."""
    if old is None or new is None:
        return old is None and new is None
    if type(old) is type(new) and old == new:   # the common case, without string building
        return True
    if isinstance(old, _SCALARS) and isinstance(new, _SCALARS):
        return _as_text(old) == _as_text(new)
    return bool(old == new)


def _as_text(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return str(value)  # the same object: typed for mypy, free at run time
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def matches(obj: Any, criteria: Mapping[str, Any]) -> bool:
    """True when every criterion equals the object's attribute as a string.

    An attribute the object does not have, or holds as null, matches nothing; this never
    raises (the original raised on unknown attributes, 17.12). Thread-safe.
    """
    for key, wanted in criteria.items():
        if key.startswith("_"):
            return False
        try:
            value = getattr(obj, key)
        except AttributeError:
            return False
        if value is None or callable(value) or isinstance(value, (list, dict, tuple)):
            return False
        if _as_text(value) != _as_text(wanted):
            return False
    return True


class Contact:
    """A contact: a dict of stored fields read as attributes.

    ``KIND`` names the object in signal names (``<KIND>_property_change``); ``KNOWN`` lists
    attributes that exist (reading as ``None``) before anything stored them, so a search on
    ``uid`` or ``markname`` is a search, not an unknown attribute.
    """

    __slots__ = ("_data", "_ctx")
    KIND = "contact"
    _HAS_MEMBERS = False
    KNOWN: Tuple[str, ...] = ("id", "name")

    def __init__(self, record: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        data: Dict[str, Any] = {}
        if record:
            data.update(record)
        data.update(fields)
        data.pop("member", None)
        object.__setattr__(self, "_data", data)
        object.__setattr__(self, "_ctx", None)

    @classmethod
    def adopt(cls, data: Dict[str, Any]) -> "Contact":
        """Build around ``data`` itself, without a copy (the caller gives it up)."""
        return cls.adopt_new(data, None)

    @classmethod
    def adopt_new(cls, data: Dict[str, Any], ctx: Any) -> "Contact":
        """``adopt(data)`` with the store context ``ctx`` set: one call per member when a
        large world's 100,000 members are built, hence the direct slot writes."""
        obj = _new(cls)
        data.pop("member", None)
        _set_data(obj, data)
        _set_ctx(obj, ctx)
        if cls._HAS_MEMBERS:
            obj._init_members()
        return obj

    # -- attribute access over the stored dict --------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        if name in type(self).KNOWN:
            return None
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            self._data[name] = value

    def get(self, key: str, default: Any = None) -> Any:
        """The stored value of ``key`` or ``default``. Thread-safe."""
        return self._data.get(key, default)

    def has(self, key: str) -> bool:
        return key in self._data

    @property
    def displayname(self) -> Optional[str]:
        name: Optional[str] = self._data.get("name")
        return name

    @property
    def placeholder(self) -> bool:
        """True for the ``昵称未知`` stand-ins made for unknown senders (protocol doc 7.6)."""
        return bool(self._data.get("_placeholder"))

    def update(self, record: Mapping[str, Any]) -> List[PropertyChange]:
        """Merge ``record`` as the original's ``update()`` did (protocol doc 6.10).

        Keys starting with ``_`` and ``member`` are skipped; keys absent from the record are
        kept (so ext-only fields such as ``uid`` survive list refreshes); a value that
        differs as a string, or a defined value replaced by null (or the reverse), is set and
        reported. Call only under the owning store's lock.

        :returns: the changes, as ``(property, old, new)`` in record order.
        """
        changes: List[PropertyChange] = []
        data = self._data
        for key, new in record.items():
            if key.startswith("_") or key == "member":
                continue
            old = data.get(key)
            if same_value(old, new):
                if key not in data:
                    data[key] = new
                continue
            data[key] = new
            changes.append((key, old, new))
        return changes

    def to_json(self) -> Dict[str, Any]:
        """Every stored key not starting with ``_`` (protocol doc 10.1). Thread-safe."""
        return {k: v for k, v in dict(self._data).items() if not k.startswith("_")}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} id={self._data.get('id')!r} name={self._data.get('name')!r}>"


_new = object.__new__
_set_data = Contact.__dict__["_data"].__set__
_set_ctx = Contact.__dict__["_ctx"].__set__


class User(Contact):
    """The logged-in account (protocol doc 6.1, 10.2)."""

    __slots__ = ()
    KIND = "user"
    KNOWN = ("id", "uid", "name", "face", "state", "client_type", "signature", "sex")


class _Marknamed(Contact):
    """displayname is the markname if set, else the name (10.1): friends and groups."""

    __slots__ = ()

    @property
    def displayname(self) -> Optional[str]:
        markname = self._data.get("markname")
        name: Optional[str] = markname if markname is not None else self._data.get("name")
        return name


class Friend(_Marknamed):
    """A friend; displayname is the markname if set, else the name (10.1)."""

    __slots__ = ()
    KIND = "friend"
    KNOWN = ("id", "uid", "name", "markname", "category", "face", "state", "client_type",
             "is_vip", "vip_level", "flag")


class _MemberList(Contact):
    """Copy-on-write member storage shared by Group and Discuss (readers never lock)."""

    __slots__ = ()
    _HAS_MEMBERS = True
    _members: Optional[Dict[Any, Any]]   # a slot of each subclass; None until loaded

    # Comes before Contact in the bases, so these wrap Contact's own.
    def __init__(self, record: Optional[Mapping[str, Any]] = None, **fields: Any) -> None:
        super().__init__(record, **fields)
        self._init_members()

    def _init_members(self) -> None:
        object.__setattr__(self, "_members", None)

    def to_json(self) -> Dict[str, Any]:
        out: Dict[str, Any] = super().to_json()
        if self._members is not None:
            out["member"] = self._members_json()
        return out

    @property
    def members(self) -> List[Any]:
        """A snapshot list of the members (empty if never loaded). Thread-safe."""
        members = self._members
        return list(members.values()) if members else []

    @property
    def members_loaded(self) -> bool:
        """True once the member list was touched (then ``member`` appears in the JSON)."""
        return self._members is not None

    def member(self, member_id: Any) -> Any:
        """The member with this id, or None. Thread-safe."""
        members = self._members
        if not members:
            return None
        return members.get(_key(member_id))

    def _set_members(self, members: Any) -> None:
        """Members as an iterable, or a dict already keyed by ``_key(id)`` (taken as is)."""
        # Replaced whole: a reader iterating the previous dict is unaffected.
        if not isinstance(members, dict):
            members = {_key(m.get("id")): m for m in members}
        object.__setattr__(self, "_members", members)

    def _members_json(self) -> List[Dict[str, Any]]:
        return [m.to_json() for m in self.members]


def _key(value: Any) -> Any:
    """Index key for ids, so 123 and "123" find the same object (ints kept as ints: the
    member indexes of a large world hold 100,000 of them)."""
    kind = type(value)
    if kind is int:
        return value
    if kind is str and value.isdigit() and value.isascii():
        return int(value)
    return _as_text(value) if value is not None else ""


class Group(_MemberList, _Marknamed):
    """A group (protocol doc 6.3, 6.4, 10.4); displayname is markname else name."""

    __slots__ = ("_members",)
    KIND = "group"
    KNOWN = ("id", "uid", "code", "name", "markname", "role", "owner_id", "owner_uid",
             "memo", "createtime", "level")



class GroupMember(Contact):
    """A member of a group (6.4, 6.7, 10.4).

    displayname (10.1): with ``group_member_use_friend_markname`` and a friend of the same
    id, the friend's markname; else the card (``fullcard`` when set); else the name.
    """

    __slots__ = ()
    KIND = "group_member"
    KNOWN = ("id", "uid", "name", "card", "role", "state", "client_type", "sex",
             "last_speak_time", "join_time")

    @property
    def group(self) -> Optional[Group]:
        value: Optional[Group] = self._data.get("_group")
        return value

    @property
    def displayname(self) -> Optional[str]:
        ctx = self._ctx
        if ctx is not None and ctx.use_friend_markname:
            friend = ctx.friend(self._data.get("id"))
            if friend is not None and friend.get("markname") is not None:
                markname: Optional[str] = friend.get("markname")
                return markname
        card: Optional[str] = self._data.get("fullcard") or self._data.get("card")
        if card:
            return card
        name: Optional[str] = self._data.get("name")
        return name


class Discuss(_MemberList, Contact):
    """A discussion group (6.5, 6.6, 10.5); displayname is the name."""

    __slots__ = ("_members",)
    KIND = "discuss"
    KNOWN = ("id", "name", "owner_id")


class DiscussMember(Contact):
    """A discussion member (6.6, 10.5): JSON ``id`` is a string, as the original's was."""

    __slots__ = ()
    KIND = "discuss_member"
    KNOWN = ("id", "uid", "name", "state", "client_type")

    @property
    def discuss(self) -> Optional[Discuss]:
        value: Optional[Discuss] = self._data.get("_discuss")
        return value

    @property
    def displayname(self) -> Optional[str]:
        ctx = self._ctx
        if ctx is not None:
            friend = ctx.friend(self._data.get("id"))
            if friend is not None and friend.get("markname") is not None:
                markname: Optional[str] = friend.get("markname")
                return markname
        name: Optional[str] = self._data.get("name")
        return name

    def to_json(self) -> Dict[str, Any]:
        out = Contact.to_json(self)
        if out.get("id") is not None and not self.placeholder:
            out["id"] = _as_text(out["id"])
        return out


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

MESSAGE_TYPES = ("friend_message", "group_message", "discuss_message", "sess_message")

# Send status table (protocol doc 8.7); the default before a send completes.
UNSENT = (-2, "未初始化", "未初始化")


class Message:
    """A received (``class`` recv) or sent (``class`` send) message (protocol doc 10.6).

    Plain fields live in a dict (``msg.id``, ``msg.content``, ``msg.get("class")``); the
    objects ``sender``, ``receiver``, ``group`` and ``discuss`` are references, turned into
    displaynames plus ``*_uid`` by :meth:`to_json`. ``raw_content`` holds the segments.
    Thread-safety: built by one thread, then only its send status changes (set once by the
    sender thread before the handle completes).
    """

    __slots__ = ("_data", "sender", "receiver", "group", "discuss", "raw_content", "_client")

    def __init__(self, type: str, class_: str, *, sender: Any = None, receiver: Any = None,
                 group: Any = None, discuss: Any = None,
                 raw_content: Optional[List[Dict[str, Any]]] = None, **fields: Any) -> None:
        if type not in MESSAGE_TYPES:
            raise ValueError(f"unknown message type {type!r}")
        data: Dict[str, Any] = {"type": type, "class": class_}
        data.update(fields)
        object.__setattr__(self, "_data", data)
        self.sender = sender
        self.receiver = receiver
        self.group = group
        self.discuss = discuss
        self.raw_content = raw_content or []
        self._client: Any = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        if name in ("id", "time", "content", "code", "msg", "info", "sender_id", "receiver_id",
                    "group_id", "discuss_id", "via", "from", "ttl", "source"):
            return None
        raise AttributeError(f"Message has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in Message.__slots__:
            object.__setattr__(self, name, value)
        else:
            self._data[name] = value

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def set(self, **fields: Any) -> None:
        """Store fields (``class``/``from`` are keywords in Python, hence this form)."""
        self._data.update(fields)

    @property
    def class_(self) -> str:
        value: str = self._data["class"]
        return value

    @property
    def from_(self) -> Optional[str]:
        name: Optional[str] = self._data.get("from")
        return name

    @property
    def is_send(self) -> bool:
        return bool(self._data["class"] == "send")

    @property
    def ok(self) -> bool:
        """True when a sent message completed with code 0."""
        return bool(self._data.get("code") == 0)

    def set_status(self, code: int, msg: str, info: str) -> None:
        self._data.update(code=code, msg=msg, info=info)

    def to_json(self) -> Dict[str, Any]:
        """Stored keys plus sender/receiver/group names and uids (protocol doc 10.1). Thread-safe."""
        out = {k: v for k, v in dict(self._data).items()
               if not k.startswith("_") and not isinstance(v, (list, dict, tuple)) and not callable(v)}
        if self.sender is not None:
            out["sender"] = self.sender.displayname
            out["sender_uid"] = self.sender.get("uid")
        if self.receiver is not None:
            out["receiver"] = self.receiver.displayname
            out["receiver_uid"] = self.receiver.get("uid")
        if self.group is not None:
            out["group"] = self.group.displayname
            out["group_uid"] = self.group.get("uid")
        if self.discuss is not None:
            out["discuss"] = self.discuss.displayname
        return out

    def reply_target(self) -> Tuple[str, Any]:
        """Where a reply goes (protocol doc 8.1): ``(type, object)``."""
        kind = self._data["type"]
        if kind == "group_message":
            return kind, self.group
        if kind == "discuss_message":
            return kind, self.discuss
        # friend and sess: back to the other party
        return kind, (self.receiver if self.is_send else self.sender)

    def reply(self, text: str) -> Any:
        """Send ``text`` back where this message came from; returns the SendHandle.

        :raises RuntimeError: the message is not bound to a client. Thread-safe.
        """
        client = self._client
        if client is None:
            raise RuntimeError("this message is not bound to a client")
        kind, target = self.reply_target()
        if target is None:
            raise RuntimeError("this message has no reply target")
        send: Callable[..., Any] = getattr(client, "send_" + kind)
        return send(target, text)

    def __repr__(self) -> str:
        return (f"<Message {self._data.get('type')} {self._data.get('class')} "
                f"id={self._data.get('id')!r} content={self._data.get('content')!r}>")
