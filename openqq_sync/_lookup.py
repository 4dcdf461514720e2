"""Finding contacts for the API and for post_api answers, through the Client's public verbs.

Criteria are string equalities ANDed together, as the original's searches were; a
criterion whose value is missing is ignored, and no criterion at all finds nothing.
Thread-safe (the ContactStore hands out snapshots).

A search by ``id`` or ``uid`` (every send and most API calls name their target so) is
answered by the ContactStore's ``find_*`` from its id/uid index instead of a scan of the
list per call; a store without them (a test's stand-in) is searched.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional

from .contacts import first


def clean(criteria: Dict[str, Any]) -> Dict[str, str]:
    """Drop absent criteria; the rest as strings."""
    return {k: str(v) for k, v in criteria.items() if v is not None and v != ""}



def _find(client: Any, finder: str, search: str, criteria: Dict[str, Any]) -> Any:
    c = clean(criteria)
    if not c:
        return None
    store = client.contacts
    find = getattr(store, finder, None)
    return find(**c) if find is not None else first(getattr(store, search)(**c))


def find_friend(client: Any, **criteria: Any) -> Any:
    return _find(client, "find_friend", "search_friends", criteria)


def find_group(client: Any, **criteria: Any) -> Any:
    return _find(client, "find_group", "search_groups", criteria)


def find_discuss(client: Any, **criteria: Any) -> Any:
    return _find(client, "find_discuss", "search_discusses", criteria)


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
