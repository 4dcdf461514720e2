"""ContactStore: the account's contacts in memory, merged and diffed as the original did.

One lock guards the store; the protocol and updater threads write through the ``merge_*``
and ``match_*`` methods, every other thread reads snapshots (``friends()`` returns a new
list, member lists are replaced copy-on-write). Writers get back the changes as
:data:`Change` tuples ``(signal_name, kwargs)`` and emit them *outside* the lock (house
style T3); this module does no I/O and emits nothing.

Merge rules (protocol doc 6.10): lists are diffed by ``id``; a list (or a group's member
list) that was empty is replaced without ``new_*`` events ("first load"); an empty member
list from the service is ignored; objects present on both sides are merged with
``update()``, which reports ``*_property_change``.
"""

from __future__ import annotations

import functools
import threading
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar, cast

from ..model import (Contact, Discuss, DiscussMember, Friend, Group, GroupMember, User, _as_text,
                    _key, matches)

#: A change to emit: (signal name in ``openqq_sync.signals``, keyword payload).
Change = Tuple[str, Dict[str, Any]]

Record = Mapping[str, Any]
_C = TypeVar("_C", bound=Contact)

UNKNOWN_NAME = "昵称未知"
STRANGER_CATEGORY = "陌生人"

#: The criteria ``find_*`` answers from an index: every send names its target by one of them.
_INDEXED = ("id", "uid")
#: An id/uid index: {"id"|"uid": {value as text: objects holding it, in list order}}.
_Index = Dict[str, Dict[str, List[Any]]]


def truncate_utf8(text: Optional[str], limit: int) -> Optional[str]:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes on a character boundary (protocol doc 4)."""
    if text is None:
        return None
    if len(text) * 4 < limit:   # no character takes more than 4 bytes: nothing to cut
        return text
    raw = text.encode("utf-8")
    if len(raw) < limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore")


def _property_changes(obj: Contact, changes: Iterable[Tuple[str, Any, Any]]) -> List[Change]:
    name = obj.KIND + "_property_change"
    return [(name, {"obj": obj, "property": k, "old": o, "new": n}) for k, o, n in changes]


def _build_index(objects: Iterable[Any]) -> _Index:
    index: _Index = {key: {} for key in _INDEXED}
    for obj in objects:
        for key in _INDEXED:
            # Only the values matches() can equal: not missing, null or a container.
            try:
                value = getattr(obj, key)
            except AttributeError:
                continue
            if value is None or callable(value) or isinstance(value, (list, dict, tuple)):
                continue
            index[key].setdefault(_as_text(value), []).append(obj)
    return index


def _indexed_key(criteria: Mapping[str, Any]) -> Optional[str]:
    """The criterion a find_* answers from the index (the first of ``_INDEXED`` given)."""
    for key in _INDEXED:
        if key in criteria:
            return key
    return None


def first(found: Optional[Iterable[Any]]) -> Any:
    """The first of ``found`` (None when empty or None)."""
    for obj in found or ():
        return obj
    return None


_F = TypeVar("_F", bound=Callable[..., Any])


def _writes(method: _F) -> _F:
    """Mark a store writer: the version rises after it ran, under the same lock, so a
    reader that saw the old version never keeps an answer built from the new state."""
    @functools.wraps(method)
    def wrapper(self: "ContactStore", *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            try:
                return method(self, *args, **kwargs)
            finally:
                self._version += 1
    return cast(_F, wrapper)


class ContactStore:
    """The user, friends, groups (with members) and discussions of one account.

    Thread-safe: writers hold the lock; readers get snapshot lists.

    :param use_friend_markname: group/discussion members show a friend's markname
        (option ``group_member_use_friend_markname``).
    :param card_cut_length: byte length cards are cut to for ext matching (option
        ``group_member_card_cut_length``).
    """

    def __init__(self, *, use_friend_markname: bool = True, card_cut_length: int = 21) -> None:
        self._lock = threading.RLock()
        self.use_friend_markname = use_friend_markname
        self.card_cut_length = card_cut_length
        self._user: Optional[User] = None
        self._friends: Dict[str, Friend] = {}
        self._groups: Dict[str, Group] = {}
        self._discusses: Dict[str, Discuss] = {}
        self._version = 0
        # list name -> (version it was built at, its id/uid index); see find_friend.
        self._indexes: Dict[str, Tuple[int, _Index]] = {}

    # ----------------------------------------------------------------- readers (thread-safe)
    @property
    def version(self) -> int:
        """A number every write raises: readers may cache what they built from the store
        (the web layer caches serialized read answers) until it changes."""
        return self._version

    @property
    def user(self) -> Optional[User]:
        return self._user

    def friends(self) -> List[Friend]:
        with self._lock:
            return list(self._friends.values())

    def groups(self) -> List[Group]:
        with self._lock:
            return list(self._groups.values())

    def discusses(self) -> List[Discuss]:
        with self._lock:
            return list(self._discusses.values())

    def friend(self, friend_id: Any) -> Optional[Friend]:
        return self._friends.get(_key(friend_id))

    def group(self, group_id: Any) -> Optional[Group]:
        return self._groups.get(_key(group_id))

    def discuss(self, discuss_id: Any) -> Optional[Discuss]:
        return self._discusses.get(_key(discuss_id))

    def search_friends(self, **criteria: Any) -> List[Friend]:
        """Friends whose attributes equal every criterion as strings.

        No criteria returns every friend; an unknown attribute matches nothing.
        """
        return [f for f in self.friends() if matches(f, criteria)]

    def search_groups(self, **criteria: Any) -> List[Group]:
        """Groups matching every criterion (``member`` is not a criterion: it is ignored)."""
        criteria.pop("member", None)
        return [g for g in self.groups() if matches(g, criteria)]

    def search_discusses(self, **criteria: Any) -> List[Discuss]:
        criteria.pop("member", None)
        return [d for d in self.discusses() if matches(d, criteria)]

    def find_friend(self, **criteria: Any) -> Optional[Friend]:
        """The first of ``search_friends(**criteria)``, or None.

        A search by ``id`` or ``uid`` (every send and most API calls name their target so)
        is answered from an index of the list, rebuilt on the first search after a write,
        instead of a scan of the list per call: on a large world that scan (2,000 friends)
        costs milliseconds per send, the index about a microsecond. Other criteria are
        checked on what the index finds; a search naming neither is the scan.
        """
        key = _indexed_key(criteria)
        if key is None:
            return first(self.search_friends(**criteria))
        return self._find("friends", key, criteria, ())

    def find_group(self, **criteria: Any) -> Optional[Group]:
        """The first of ``search_groups(**criteria)`` (``member`` ignored), or None; see find_friend."""
        key = _indexed_key(criteria)
        if key is None:
            return first(self.search_groups(**criteria))
        return self._find("groups", key, criteria, ("member",))

    def find_discuss(self, **criteria: Any) -> Optional[Discuss]:
        """The first of ``search_discusses(**criteria)`` (``member`` ignored), or None; see find_friend."""
        key = _indexed_key(criteria)
        if key is None:
            return first(self.search_discusses(**criteria))
        return self._find("discusses", key, criteria, ("member",))

    def _find(self, kind: str, key: str, criteria: Dict[str, Any], ignored: Tuple[str, ...]) -> Any:
        entry = self._indexes.get(kind)
        if entry is None or entry[0] != self._version:
            entry = self._rebuild_index(kind)
        wanted = criteria[key]
        found = entry[1][key].get(wanted if type(wanted) is str else _as_text(wanted), ())
        rest = {k: v for k, v in criteria.items() if k != key and k not in ignored}
        for obj in found:
            if not rest or matches(obj, rest):
                return obj
        return None

    def _rebuild_index(self, kind: str) -> Tuple[int, _Index]:
        # The list and its version are read together under the lock, so an index is never
        # filed under a version its list does not belong to; the build itself runs outside
        # it (a large world's friends take milliseconds, and the poller's writes, which
        # invalidate it, must not wait for a send's lookup). Two readers may both build;
        # an index filed late under an older version is only rebuilt once more.
        with self._lock:
            version = self._version
            objects = list({"friends": self._friends, "groups": self._groups,
                            "discusses": self._discusses}[kind].values())
        entry = (version, _build_index(objects))
        self._indexes[kind] = entry
        return entry

    def search_group_members(self, group: Group, **criteria: Any) -> List[GroupMember]:
        return [m for m in group.members if matches(m, criteria)]

    def search_discuss_members(self, discuss: Discuss, **criteria: Any) -> List[DiscussMember]:
        return [m for m in discuss.members if matches(m, criteria)]

    def counts(self) -> Dict[str, int]:
        """Sizes of every list (for logs and tests). Thread-safe."""
        with self._lock:
            groups = list(self._groups.values())
            discusses = list(self._discusses.values())
            return {
                "friends": len(self._friends),
                "groups": len(groups),
                "group_members": sum(len(g.members) for g in groups),
                "discusses": len(discusses),
                "discuss_members": sum(len(d.members) for d in discusses),
            }

    # ------------------------------------------------------------- writers (hold the lock)
    def _adopt(self, obj: _C) -> _C:
        obj._ctx = self
        return obj

    @_writes
    def clear(self) -> None:
        """Forget every contact (a relogin reloads them; ids may have changed)."""
        with self._lock:
            self._user = None
            self._friends = {}
            self._groups = {}
            self._discusses = {}

    @_writes
    def set_user(self, record: Record) -> User:
        """Replace the user; no events (the original replaced the object, 6.10)."""
        with self._lock:
            self._user = self._adopt(User(record))
            return self._user

    def _diff(self, current: Dict[str, _C], records: Sequence[Record],
              make: Callable[[Record], _C], kind: str) -> Tuple[Dict[str, _C], List[Change], List[_C]]:
        """Diff ``current`` by id against ``records``: (new dict, changes, added objects)."""
        changes: List[Change] = []
        added: List[_C] = []
        if not current:
            fresh = {_key(r.get("id")): self._adopt(make(r)) for r in records}
            return fresh, changes, list(fresh.values())
        result: Dict[str, _C] = {}
        for record in records:
            key = _key(record.get("id"))
            obj = current.get(key)
            if obj is None:
                obj = self._adopt(make(record))
                added.append(obj)
                changes.append(("new_" + kind, {kind: obj}))
            else:
                changes.extend(_property_changes(obj, obj.update(record)))
            result[key] = obj
        for key, obj in current.items():
            if key not in result and not obj.placeholder:
                changes.append(("lose_" + kind, {kind: obj}))
        return result, changes, added

    @_writes
    def merge_friends(self, records: Sequence[Record]) -> List[Change]:
        """Apply a fetched friend list (6.2). Returns the changes to emit."""
        with self._lock:
            self._friends, changes, _ = self._diff(self._friends, records, Friend, "friend")
            return changes

    @_writes
    def merge_groups(self, records: Sequence[Record]) -> Tuple[List[Change], List[Group]]:
        """Apply a fetched group list (6.3). Returns (changes, groups that are new)."""
        with self._lock:
            self._groups, changes, added = self._diff(self._groups, records, Group, "group")
            return changes, added

    @_writes
    def merge_discusses(self, records: Sequence[Record]) -> Tuple[List[Change], List[Discuss]]:
        """Apply a fetched discussion list (6.5). Returns (changes, discussions that are new)."""
        with self._lock:
            self._discusses, changes, added = self._diff(self._discusses, records, Discuss, "discuss")
            return changes, added

    def _merge_members(self, owner: Any, records: Sequence[Record], make: Callable[[Record], _C],
                       link: str, kind: str, owner_kw: str, owned: bool = False) -> List[Change]:
        if not records:
            # An empty list from the service is ignored (no mass lose_*), 6.10.
            if not owner.members_loaded:
                owner._set_members([])
            return []
        if not owner.members:
            # A first load (the whole login load of a large world: 100,000 members) reports
            # nothing (6.10): the objects are built in one plain loop, no diff.
            owner._set_members(self._build_members(owner, records, make, link, owned))
            return []
        current = {_key(m.get("id")): m for m in owner.members}

        def build(record: Record) -> _C:
            return self._build_members(owner, (record,), make, link).popitem()[1]

        merged, changes, _ = self._diff(current, records, build, "member")
        # _diff names the payload "member"; the signals also carry the owner.
        out: List[Change] = []
        for name, kw in changes:
            if name in ("new_member", "lose_member"):
                out.append((name.replace("member", kind + "_member"), {"member": kw["member"], owner_kw: owner}))
            else:
                out.append((name, kw))
        owner._set_members(merged)   # already keyed by _key(id)
        return out

    def _build_members(self, owner: Any, records: Iterable[Record], cls: Any, link: str,
                       owned: bool = False) -> Dict[Any, Any]:
        """Member objects of ``cls`` around copies of ``records`` (the caller's records stay
        untouched) or, ``owned``, around the records themselves; keyed by ``_key(id)``, a
        later duplicate id wins, as in ``_diff``."""
        out: Dict[Any, Any] = {}
        new = cls.adopt_new
        # Texts that repeat across the members (sex, state...) arrive shared by the
        # fetchers (protocol/contacts.py), which know which fields are the service's text.
        for record in records:
            data = record if owned else dict(record)
            data[link] = owner
            key = data.get("id")
            out[key if type(key) is int else _key(key)] = new(data, self)
        return out

    @_writes
    def merge_group_detail(self, group: Group, record: Optional[Record],
                           members: Sequence[Record], *, owned: bool = False) -> List[Change]:
        """Apply get_group_info_ext2 (6.4): group fields, then the member list diff.

        :param owned: the caller gives the member records up (a fetcher's fresh output): a
            first load builds the members around them instead of copies.
        """
        with self._lock:
            changes: List[Change] = []
            if record:
                changes.extend(_property_changes(group, group.update(record)))
            changes.extend(self._merge_members(group, members, GroupMember, "_group", "group", "group",
                                               owned))
            return changes

    @_writes
    def merge_discuss_detail(self, discuss: Discuss, record: Record) -> List[Change]:
        """Apply get_discu_info (6.6): discussion fields, then the member list diff."""
        with self._lock:
            fields = {k: v for k, v in record.items() if k != "member"}
            changes = _property_changes(discuss, discuss.update(fields))
            changes.extend(self._merge_members(discuss, record.get("member") or [], DiscussMember,
                                               "_discuss", "discuss", "discuss"))
            return changes

    # ------------------------------------------------------------- fields from elsewhere
    @_writes
    def supplement(self, pairs: Iterable[Tuple[Contact, Record]], *, report: bool = True) -> List[Change]:
        """Store fields a second source has for contacts of this store (the backend matched
        each record to its contact; SmartQQ's qun.qq.com data gives the QQ numbers).

        :param report: True: merged with ``update()``, the differences are returned as
            ``*_property_change`` changes; False: first values, stored as they are.
        """
        changes: List[Change] = []
        with self._lock:
            for obj, fields in pairs:
                if not report:
                    obj._data.update(fields)
                    continue
                found = obj.update(fields)
                if found:
                    changes.extend(_property_changes(obj, found))
        return changes

    # ---------------------------------------------------------------- single-object edits
    @_writes
    def add_placeholder_friend(self, friend_id: Any) -> Friend:
        """Add the ``昵称未知`` stand-in for an unknown sender (7.6)."""
        with self._lock:
            friend = self._adopt(Friend(id=friend_id, name=UNKNOWN_NAME, category=STRANGER_CATEGORY,
                                        _placeholder=True))
            self._friends = dict(self._friends)
            self._friends[_key(friend_id)] = friend
            return friend

    @_writes
    def add_placeholder_member(self, owner: Any, member_id: Any) -> Contact:
        """Add a ``昵称未知`` member to a group or discussion (7.6)."""
        with self._lock:
            if isinstance(owner, Group):
                member: Contact = GroupMember(id=member_id, name=UNKNOWN_NAME, _group=owner, _placeholder=True)
            else:
                member = DiscussMember(id=member_id, name=UNKNOWN_NAME, _discuss=owner, _placeholder=True)
            self._adopt(member)
            owner._set_members(owner.members + [member])
            return member

    @_writes
    def remove_group_members(self, group: Group, members: Sequence[GroupMember]) -> List[Change]:
        """Drop kicked members; the events carry the group (the original's bug 4 dropped it)."""
        with self._lock:
            gone = {_key(m.get("id")) for m in members}
            kept = [m for m in group.members if _key(m.get("id")) not in gone]
            removed = [m for m in group.members if _key(m.get("id")) in gone]
            group._set_members(kept)
            return [("lose_group_member", {"member": m, "group": group}) for m in removed]

    @_writes
    def update_friend_presence(self, friend_id: Any, state: Any, client_type: Any) -> List[Change]:
        """Apply a ``buddies_status_change`` (7.4) to a known friend."""
        with self._lock:
            friend = self.friend(friend_id)
            if friend is None:
                return []
            return _property_changes(friend, friend.update({"state": state, "client_type": client_type}))


# -- lookups for the API and post_api answers, through a Client's public verbs -----------
# Criteria are string equalities ANDed together, as the original's searches were; a
# criterion whose value is missing is ignored, and no criterion at all finds nothing.

class ContactsOwner(Protocol):
    """What the lookups need of a client: its store and the blocking member loads."""

    @property
    def contacts(self) -> "ContactStore": ...

    def load_group_members(self, group: Group) -> None: ...

    def load_discuss_members(self, discuss: Discuss) -> None: ...


def clean(criteria: Mapping[str, Any]) -> Dict[str, Any]:
    """Drop absent criteria (None or empty text); ``matches`` compares the rest as text."""
    return {k: v for k, v in criteria.items() if v is not None and v != ""}


def find_friend(client: ContactsOwner, **criteria: Any) -> Optional[Friend]:
    c = clean(criteria)
    return client.contacts.find_friend(**c) if c else None


def find_group(client: ContactsOwner, **criteria: Any) -> Optional[Group]:
    c = clean(criteria)
    return client.contacts.find_group(**c) if c else None


def find_discuss(client: ContactsOwner, **criteria: Any) -> Optional[Discuss]:
    c = clean(criteria)
    return client.contacts.find_discuss(**c) if c else None


def group_members(client: ContactsOwner, group: Group) -> List[GroupMember]:
    """The group's members, fetched first (blocking) when the list is still empty."""
    members = list(group.members)
    if not members:
        client.load_group_members(group)
        fresh = client.contacts.find_group(id=group.get("id")) or group
        members = list(fresh.members)
    return members


def discuss_members(client: ContactsOwner, discuss: Discuss) -> List[DiscussMember]:
    members = list(discuss.members)
    if not members:
        client.load_discuss_members(discuss)
        fresh = client.contacts.find_discuss(id=discuss.get("id")) or discuss
        members = list(fresh.members)
    return members


def find_member(members: Iterable[_C], **criteria: Any) -> Optional[_C]:
    """The first member matching every criterion (``model.matches``), None without any."""
    c = clean(criteria)
    if not c:
        return None
    for member in members:
        if matches(member, c):
            return member
    return None


def state_name(client: Any) -> str:
    """The client's state as the original's name (``"running"``)."""
    return str(client.state)
