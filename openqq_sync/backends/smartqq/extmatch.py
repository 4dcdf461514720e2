"""Matching qun.qq.com's ext data onto SmartQQ's contacts (protocol doc 6.7).

SmartQQ's ids are per session and carry no QQ number; qun.qq.com lists the QQ numbers (and
roles, cards, times) by name. A record goes to the contact with the same key, and a key
that occurs twice on either side matches nothing (a wrong QQ number is worse than none):

* friends by ``(displayname, category)``: only ``uid`` is taken, silently;
* groups by ``name``: ``uid``, ``owner_uid``, ``role``..., reported as property changes;
* members by ``(name, card cut to card_cut_length bytes)``, reported unless the member list
  was loaded just now (first values of a first load); members sharing both are told apart
  by ownership and sex when both lists know them and that makes the pair unique (issue 13;
  the original left them all unmatched).

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


def _groups(items: Iterable[_T], keyfn: Callable[[_T], Any]) -> Dict[Any, List[_T]]:
    """Map key -> the items of that key (unhashable keys, from a garbled answer, left out)."""
    out: Dict[Any, List[_T]] = {}
    for item in items:
        key = keyfn(item)
        try:
            out.setdefault(key, []).append(item)
        except TypeError:
            continue
    return out


def _settle(ours: List[Contact], theirs: List[Record], owner_id: Any) -> List[Tuple[Contact, Record]]:
    """Pairs of a tie of name and card told apart by what both lists also say: being the
    owner (``ginfo.owner`` is a member id, the ext ``owner`` a QQ number), else sex (minfo's
    ``gender``, qun.qq.com's ``g``). Only a value both sides know and that is unique on both
    sides pairs, then the last one left on each side if nothing contradicts; anything else
    stays unmatched."""
    def mine(m: Contact) -> Any:
        if owner_id is not None and m.id == owner_id:
            return "owner"
        sex = m.get("sex")
        return sex if sex in ("male", "female") else None

    def its(r: Record) -> Any:
        if owner_id is not None and r.get("role") == "owner":
            return "owner"
        sex = r.get("sex")
        return sex if sex in ("male", "female") else None

    a = _unique_index(ours, mine)
    b = _unique_index(theirs, its)
    pairs = [(a[key], b[key]) for key in b if key in a]
    # One left on each side is the same person, by the reasoning that pairs a key that
    # occurs once on each side, unless the two say different things.
    rest_ours = [m for m in ours if all(m is not p[0] for p in pairs)]
    rest_theirs = [r for r in theirs if all(r is not p[1] for p in pairs)]
    if pairs and len(rest_ours) == 1 and len(rest_theirs) == 1:
        member, record = rest_ours[0], rest_theirs[0]
        told = [x for x in (mine(member), its(record)) if x is not None]
        if len(set(told)) < 2 and (mine(member) == "owner") == (its(record) == "owner"):
            pairs.append((member, record))
    return pairs


def match_group_members(store: ContactStore, group: Group, records: Sequence[Record], *,
                        report: bool = True) -> List[Change]:
    cut = store.card_cut_length
    ours = _groups(group.members, lambda m: _card_key(m.get("name"), m.get("card"), cut))
    theirs = _groups(records, lambda r: _card_key(r.get("name"), r.get("card"), cut))
    owner_id = group.get("owner_id")
    pairs: List[Tuple[Contact, Record]] = []
    for key, records_of_key in theirs.items():
        members = ours.get(key)
        if not members:
            continue
        if len(members) == 1 and len(records_of_key) == 1:
            found = [(members[0], records_of_key[0])]
        else:
            found = _settle(members, records_of_key, owner_id)
        for member, record in found:
            fields = dict(record)
            fields["card"] = key[1] or None
            fields.pop("sex", None)   # the member keeps minfo's value
            pairs.append((member, fields))
    # Keys the original always showed for a group with ext data, null until known.
    pairs.append((group, {key: group.get(key) for key in ("max_member", "max_admin")}))
    return store.supplement(pairs, report=report)
