"""Matching qun.qq.com's ext data onto SmartQQ's contacts (protocol doc 6.7).

SmartQQ's ids are per session and carry no QQ number; qun.qq.com lists the QQ numbers (and
roles, cards, times) by name. A record goes to the contact with the same key, and a key
that occurs twice on either side matches nothing (a wrong QQ number is worse than none):

* friends by ``(displayname, category)``: only ``uid`` is taken, silently;
* groups by ``name``: ``uid``, ``owner_uid``, ``role``..., reported as property changes;
* members by ``(name, card cut to card_cut_length bytes)``, reported unless the member list
  was loaded just now (first values of a first load).

The store does the writing (``ContactStore.supplement``); this module only decides the pairs.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence, Tuple, TypeVar

from ...client.contacts import Change, ContactStore, truncate_utf8
from ...model import Contact, Group

Record = Mapping[str, Any]
_T = TypeVar("_T")

__all__ = ["match_friends", "match_groups", "match_group_members"]


def _unique_index(items: Iterable[_T], keyfn: Callable[[_T], Any]) -> Dict[Any, _T]:
    """Map key -> item, leaving out every key that occurs more than once."""
    index: Dict[Any, _T] = {}
    dup = set()
    for item in items:
        key = keyfn(item)
        if key is None:
            continue
        try:
            if key in index:
                dup.add(key)
        except TypeError:   # a list or dict from a garbled answer: matches nothing
            continue
        index[key] = item
    for key in dup:
        del index[key]
    return index


def match_friends(store: ContactStore, records: Sequence[Record]) -> int:
    """Give friends their QQ numbers; returns how many were matched."""
    ours = _unique_index(store.friends(), lambda f: (f.displayname, f.get("category")))
    theirs = _unique_index(records, lambda r: (r.get("displayname"), r.get("category")))
    pairs: List[Tuple[Contact, Record]] = [
        (ours[key], {"uid": record["uid"]}) for key, record in theirs.items()
        if key in ours and record.get("uid") is not None]
    store.supplement(pairs, report=False)
    return len(pairs)


def match_groups(store: ContactStore, records: Sequence[Record]) -> List[Change]:
    ours = _unique_index(store.groups(), lambda g: g.get("name"))
    theirs = _unique_index(records, lambda r: r.get("name"))
    return store.supplement([(ours[name], record) for name, record in theirs.items() if name in ours])


def _card_key(name: Any, card: Any, cut: int) -> Tuple[Any, Any]:
    if card is None:
        card = ""
    elif type(card) is not str or len(card) * 4 >= cut:   # else nothing to cut
        card = truncate_utf8(card, cut) or ""
    return (name, card)


def match_group_members(store: ContactStore, group: Group, records: Sequence[Record], *,
                        report: bool = True) -> List[Change]:
    cut = store.card_cut_length
    ours = _unique_index(group.members, lambda m: _card_key(m.get("name"), m.get("card"), cut))
    pairs: List[Tuple[Contact, Record]] = []
    for key, record in _unique_index(records, lambda r: _card_key(r.get("name"), r.get("card"), cut)).items():
        member = ours.get(key)
        if member is not None:
            fields = dict(record)
            fields["card"] = key[1] or None
            pairs.append((member, fields))
    # Keys the original always showed for a group with ext data, null until known.
    pairs.append((group, {key: group.get(key) for key in ("max_member", "max_admin")}))
    return store.supplement(pairs, report=report)
