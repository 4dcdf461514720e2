"""Finding contacts for the API and for post_api answers, through the Client's public verbs.

Criteria are string equalities ANDed together, as the original's searches were; a
criterion whose value is missing is ignored, and no criterion at all finds nothing.
Thread-safe (the ContactStore hands out snapshots).

A search by ``id`` or ``uid`` (every send and most API calls name their target so) is
answered from an index of the store's list, rebuilt when the store's ``version`` changes,
instead of a scan of the list per call; it finds exactly what the store's search finds
first.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .model import _as_text, matches as _store_matches

_INDEXED = ("id", "uid")
_SCAN = object()
# store -> list name -> (store version, {"id"|"uid": {text: objects in list order}})
_indexes: "weakref.WeakKeyDictionary[Any, Dict[str, Tuple[int, Dict[str, Dict[str, List[Any]]]]]]" = \
    weakref.WeakKeyDictionary()


def clean(criteria: Dict[str, Any]) -> Dict[str, str]:
    """Drop absent criteria; the rest as strings."""
    return {k: str(v) for k, v in criteria.items() if v is not None and v != ""}


def first(found: Iterable[Any]) -> Any:
    for obj in found or ():
        return obj
    return None


def _build(objects: Iterable[Any]) -> Dict[str, Dict[str, List[Any]]]:
    index: Dict[str, Dict[str, List[Any]]] = {key: {} for key in _INDEXED}
    for obj in objects:
        for key in _INDEXED:
            # The values the store's matches() can equal: not missing, null or a container.
            try:
                value = getattr(obj, key)
            except AttributeError:
                continue
            if value is None or callable(value) or isinstance(value, (list, dict, tuple)):
                continue
            index[key].setdefault(_as_text(value), []).append(obj)
    return index


def _indexed(store: Any, kind: str, criteria: Dict[str, str], ignored: Tuple[str, ...]) -> Any:
    """The first object of ``store.<kind>()`` matching ``criteria`` (or None) through the
    index, or ``_SCAN`` when the criteria or the store do not allow it."""
    key = next((k for k in _INDEXED if k in criteria), None)
    # Read before the list: an index filed under a version may be newer than it, never older.
    version = getattr(store, "version", None)
    if key is None or type(version) is not int:
        return _SCAN
    try:
        per_store = _indexes.setdefault(store, {})
    except TypeError:  # a store that cannot be weakly referenced
        return _SCAN
    entry = per_store.get(kind)
    if entry is None or entry[0] != version:
        entry = per_store[kind] = (version, _build(getattr(store, kind)()))
    rest = {k: v for k, v in criteria.items() if k != key and k not in ignored}
    for obj in entry[1][key].get(criteria[key], ()):
        if not rest or _store_matches(obj, rest):
            return obj
    return None


def find_friend(client: Any, **criteria: Any) -> Any:
    c = clean(criteria)
    if not c:
        return None
    found = _indexed(client.contacts, "friends", c, ())
    return first(client.contacts.search_friends(**c)) if found is _SCAN else found


def find_group(client: Any, **criteria: Any) -> Any:
    c = clean(criteria)
    if not c:
        return None
    # search_groups ignores a "member" criterion.
    found = _indexed(client.contacts, "groups", c, ("member",))
    return first(client.contacts.search_groups(**c)) if found is _SCAN else found


def find_discuss(client: Any, **criteria: Any) -> Any:
    c = clean(criteria)
    if not c:
        return None
    found = _indexed(client.contacts, "discusses", c, ("member",))
    return first(client.contacts.search_discusses(**c)) if found is _SCAN else found


def _members(obj: Any) -> List[Any]:
    members = getattr(obj, "members", None)
    if callable(members):
        members = members()
    return list(members or [])


def group_members(client: Any, group: Any) -> List[Any]:
    """The group's members, fetched first (blocking) when the list is still empty."""
    members = _members(group)
    if not members:
        client.load_group_members(group)
        fresh = find_group(client, id=getattr(group, "id", None)) or group
        members = _members(fresh)
    return members


def discuss_members(client: Any, discuss: Any) -> List[Any]:
    members = _members(discuss)
    if not members:
        client.load_discuss_members(discuss)
        fresh = find_discuss(client, id=getattr(discuss, "id", None)) or discuss
        members = _members(fresh)
    return members


def matches(obj: Any, criteria: Dict[str, str]) -> bool:
    """True when every criterion equals the object's attribute (as text)."""
    for key, want in criteria.items():
        have = getattr(obj, key, None)
        if have is None or str(have) != want:
            return False
    return True


def find_member(members: Iterable[Any], **criteria: Any) -> Optional[Any]:
    c = clean(criteria)
    if not c:
        return None
    for member in members:
        if matches(member, c):
            return member
    return None


def state_name(client: Any) -> str:
    """The client's state as the original's name (``"running"``), whether it is an Enum or text."""
    state = getattr(client, "state", None)
    return str(getattr(state, "value", state))
