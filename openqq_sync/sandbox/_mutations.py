"""The world's control verbs that read or change contacts: ``snapshot()`` and the world changes.

A mixin of ``SandboxWorld`` (it uses the world's ``_lock`` and ``data``). Contacts are
addressed by their stable keys: QQ numbers (``uid``), group numbers and discussion keys.
Every verb is thread-safe and raises ``KeyError`` for an unknown contact and ``ValueError``
for a bad argument; the control API turns both into HTTP 404 / 400.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

from .generator import ADMIN, MEMBER, OWNER, ROLE_OF_ACCOUNT, Discuss, Friend, Group, Member

if TYPE_CHECKING:  # pragma: no cover
    from .generator import WorldData
    from .world import Grant

_UNSET: Any = object()


class MutationsMixin:
    data: "WorldData"
    _lock: threading.Lock
    _admin: List[dict]

    def _notify_locked(self, kind: str, **facts: Any) -> None:  # pragma: no cover - SandboxWorld's
        raise NotImplementedError

    @property
    def grant(self) -> "Optional[Grant]":  # pragma: no cover - provided by SandboxWorld
        raise NotImplementedError

    # ---- snapshot ---------------------------------------------------------------------
    def snapshot(self, members: bool = True) -> dict:
        """The whole world as plain JSON data (``GET /sandbox/world``). Thread-safe.

        ``id`` fields are the ids of the current login (``None`` when no one is logged in).
        ``members=False`` leaves out member lists (the large world has 100,000 members).
        """
        g = self.grant
        ids = g.ids if g is not None else None

        def pid(qq: int) -> Optional[int]:
            if ids is None:
                return None
            return qq if qq == self.data.account.qq else ids.to_id("person", qq)

        with self._lock:
            d = self.data
            a = d.account
            out: Dict[str, Any] = {
                "world": d.size, "seed": d.seed, "logged_in": g is not None,
                "account": {"uid": a.qq, "id": a.qq if g is not None else None, "name": a.nick,
                            "signature": a.lnick, "sex": a.gender, "face": a.face},
                "categories": [{"index": i, "name": n} for i, n in sorted(d.categories.items())],
                "friends": [{"uid": f.qq, "id": pid(f.qq), "name": f.nick, "markname": f.markname,
                             "category": d.categories.get(f.category), "category_index": f.category,
                             "state": f.status or "offline", "face": f.face, "sex": f.gender}
                            for f in d.friends.values()],
                "groups": [], "discusses": [],
            }
            for grp in d.groups.values():
                me = grp.members.get(a.qq)
                entry: Dict[str, Any] = {
                    "uid": grp.number, "id": ids.to_id("gid", grp.number) if ids else None,
                    "code": ids.to_id("code", grp.number) if ids else None, "name": grp.name,
                    "markname": grp.markname, "owner_uid": grp.owner,
                    "role": ROLE_OF_ACCOUNT[me.role] if me else None, "member_count": len(grp.members)}
                if members:
                    entry["members"] = [{"uid": m.qq, "id": pid(m.qq), "name": m.nick, "card": m.card,
                                         "role": m.role} for m in grp.members.values()]
                out["groups"].append(entry)
            for dc in d.discusses.values():
                entry = {"key": dc.key, "id": ids.to_id("did", dc.serial) if ids else None, "name": dc.name,
                         "owner_uid": dc.owner, "member_count": len(dc.members)}
                if members:
                    entry["members"] = [{"uid": qq, "id": pid(qq), "name": nick} for qq, nick in dc.members.items()]
                out["discusses"].append(entry)
            return out

    # ---- friends ----------------------------------------------------------------------
    def add_friend(self, name: str, category: Any = 0, markname: Optional[str] = None,
                   uid: Optional[int] = None, state: Optional[str] = None) -> dict:
        """Add a friend (a fresh QQ number unless ``uid``); ``category`` is an index or a name."""
        _check_name(name)
        with self._lock:
            d = self.data
            qq = self._fresh_uid(uid)
            if qq in d.friends:
                raise ValueError("%s is already a friend" % qq)
            f = Friend(qq=qq, nick=name, category=self._category_index(category), markname=markname,
                       status=state if state and state != "offline" else None)
            d.friends[qq] = f
            self._notify_locked("friend_add", user_id=qq)
            return {"uid": qq, "name": name, "markname": markname, "category": d.categories[f.category]}

    def remove_friend(self, uid: int) -> dict:
        with self._lock:
            f = self.data.friends.pop(int(uid), None)
            if f is None:
                raise KeyError("no friend with uid %s" % uid)
            return {"uid": f.qq, "name": f.nick}

    def rename_friend(self, uid: int, name: Optional[str] = None, markname: Any = _UNSET,
                      category: Any = _UNSET) -> dict:
        """Change a friend's nick (also in every group and discussion), markname or category."""
        with self._lock:
            f = self.data.friends.get(int(uid))
            if f is None:
                raise KeyError("no friend with uid %s" % uid)
            if name is not None:
                _check_name(name)
                f.nick = name
                for grp in self.data.groups.values():
                    m = grp.members.get(f.qq)
                    if m is not None:
                        m.nick = name
                for dc in self.data.discusses.values():
                    if f.qq in dc.members:
                        dc.members[f.qq] = name
            if markname is not _UNSET:
                f.markname = markname
            if category is not _UNSET:
                f.category = self._category_index(category)
            return {"uid": f.qq, "name": f.nick, "markname": f.markname,
                    "category": self.data.categories[f.category]}

    # ---- groups -----------------------------------------------------------------------
    def add_group(self, name: str, role: str = MEMBER, uid: Optional[int] = None,
                  members: Optional[List[dict]] = None, markname: Optional[str] = None) -> dict:
        """A group the account belongs to with ``role`` (owner|admin|member), plus ``members``
        (list of ``{"name", "uid"?, "card"?, "role"?}``); someone else owns it unless role=owner."""
        _check_name(name)
        if role not in (OWNER, ADMIN, MEMBER):
            raise ValueError("role must be owner, admin or member")
        with self._lock:
            d = self.data
            number = int(uid) if uid is not None else None
            if number is None:
                number = 100_000 + (d.new_qq() % 899_900_000)
                while number in d.groups:
                    number += 1
            if number in d.groups or not 0 < number < 2 ** 31:
                raise ValueError("bad or taken group uid %s" % number)
            a = d.account
            grp = Group(number=number, serial=d.new_serial("group"), name=name, memo="", createtime=1_500_000_000,
                        members={a.qq: Member(a.qq, a.nick, None, role, a.gender, 1_500_000_000, 0, 10)},
                        markname=markname)
            d.groups[number] = grp
            specs = list(members or [])
            if role != OWNER and not any(s.get("role") == OWNER for s in specs):
                specs.insert(0, {"name": "群主" + name[:6], "role": OWNER})
            for spec in specs:
                self._add_member_locked(grp, spec.get("name") or "", spec.get("uid"), spec.get("card"),
                                        spec.get("role", MEMBER))
            self._notify_locked("group_increase", sub_type="invite", group_id=number, user_id=a.qq,
                                operator_id=grp.owner)
            return {"uid": number, "name": name, "role": ROLE_OF_ACCOUNT[role], "owner_uid": grp.owner,
                    "member_count": len(grp.members)}

    def remove_group(self, uid: int) -> dict:
        with self._lock:
            grp = self.data.groups.pop(int(uid), None)
            if grp is None:
                raise KeyError("no group with uid %s" % uid)
            self._notify_locked("group_decrease", sub_type="kick_me", group_id=grp.number,
                                user_id=self.data.account.qq, operator_id=grp.owner)
            return {"uid": grp.number, "name": grp.name}

    def leave_group(self, uid: int) -> dict:
        """The account leaves a group (OneBot ``set_group_leave``); not a control verb."""
        with self._lock:
            grp = self.data.groups.pop(int(uid), None)
            if grp is None:
                raise KeyError("no group with uid %s" % uid)
            me = self.data.account.qq
            self._notify_locked("group_decrease", sub_type="leave", group_id=grp.number, user_id=me, operator_id=me)
            return {"uid": grp.number, "name": grp.name}

    def rename_group(self, uid: int, name: Optional[str] = None, markname: Any = _UNSET) -> dict:
        with self._lock:
            grp = self._group(uid)
            if name is not None:
                _check_name(name)
                grp.name = name
            if markname is not _UNSET:
                grp.markname = markname
            return {"uid": grp.number, "name": grp.name, "markname": grp.markname}

    def add_group_member(self, group_uid: int, name: str, uid: Optional[int] = None,
                         card: Optional[str] = None, role: str = MEMBER) -> dict:
        _check_name(name)
        with self._lock:
            grp = self._group(group_uid)
            m = self._add_member_locked(grp, name, uid, card, role)
            self._notify_locked("group_increase", sub_type="approve", group_id=grp.number, user_id=m.qq,
                                operator_id=grp.owner)
            return {"group_uid": grp.number, "uid": m.qq, "name": m.nick, "card": m.card, "role": m.role}

    def remove_group_member(self, group_uid: int, uid: int) -> dict:
        with self._lock:
            grp = self._group(group_uid)
            qq = int(uid)
            if qq == self.data.account.qq:
                raise ValueError("remove the group instead of the account")
            m = grp.members.pop(qq, None)
            if m is None:
                raise KeyError("%s is not a member of group %s" % (uid, group_uid))
            self._notify_locked("group_decrease", sub_type="leave", group_id=grp.number, user_id=qq, operator_id=qq)
            return {"group_uid": grp.number, "uid": m.qq, "name": m.nick}

    def rename_group_member(self, group_uid: int, uid: int, name: Optional[str] = None,
                            card: Any = _UNSET, role: Optional[str] = None) -> dict:
        with self._lock:
            grp = self._group(group_uid)
            m = grp.members.get(int(uid))
            if m is None:
                raise KeyError("%s is not a member of group %s" % (uid, group_uid))
            if name is not None:
                _check_name(name)
                m.nick = name
            if role is not None and role not in (ADMIN, MEMBER):
                raise ValueError("role must be admin or member")
            if card is not _UNSET and (card or None) != m.card:
                self._notify_locked("group_card", group_id=grp.number, user_id=m.qq, card_new=card or "",
                                    card_old=m.card or "")
                m.card = card or None
            if role is not None and role != m.role:
                self._notify_locked("group_admin", sub_type="set" if role == ADMIN else "unset",
                                    group_id=grp.number, user_id=m.qq)
                m.role = role
            return {"group_uid": grp.number, "uid": m.qq, "name": m.nick, "card": m.card, "role": m.role}

    # ---- discussions ------------------------------------------------------------------
    def add_discuss(self, name: str, members: Optional[List[dict]] = None) -> dict:
        """A discussion with the account, owned by the account, plus ``members``
        (``{"name", "uid"?}``). Returns its new stable key."""
        _check_name(name)
        with self._lock:
            d = self.data
            serial = d.new_serial("discuss")
            key = "d%d" % serial
            dc = Discuss(key=key, serial=serial, name=name, owner=d.account.qq, members={d.account.qq: d.account.nick})
            d.discusses[key] = dc
            for spec in members or []:
                qq = self._fresh_uid(spec.get("uid"))
                dc.members[qq] = spec.get("name") or str(qq)
            return {"key": key, "name": name, "member_count": len(dc.members)}

    def remove_discuss(self, key: str) -> dict:
        with self._lock:
            dc = self.data.discusses.pop(key, None)
            if dc is None:
                raise KeyError("no discussion %r" % (key,))
            return {"key": key, "name": dc.name}

    def rename_discuss(self, key: str, name: str) -> dict:
        _check_name(name)
        with self._lock:
            dc = self._discuss(key)
            dc.name = name
            return {"key": key, "name": name}

    def add_discuss_member(self, key: str, name: str, uid: Optional[int] = None) -> dict:
        _check_name(name)
        with self._lock:
            dc = self._discuss(key)
            qq = self._fresh_uid(uid)
            if qq in dc.members:
                raise ValueError("%s is already in %s" % (qq, key))
            dc.members[qq] = name
            return {"key": key, "uid": qq, "name": name}

    def remove_discuss_member(self, key: str, uid: int) -> dict:
        with self._lock:
            dc = self._discuss(key)
            qq = int(uid)
            if qq == self.data.account.qq:
                raise ValueError("remove the discussion instead of the account")
            if qq not in dc.members:
                raise KeyError("%s is not in %s" % (uid, key))
            return {"key": key, "uid": qq, "name": dc.members.pop(qq)}

    def rename_discuss_member(self, key: str, uid: int, name: str) -> dict:
        _check_name(name)
        with self._lock:
            dc = self._discuss(key)
            qq = int(uid)
            if qq not in dc.members:
                raise KeyError("%s is not in %s" % (uid, key))
            dc.members[qq] = name
            return {"key": key, "uid": qq, "name": name}

    # ---- group administration through the ext endpoints (protocol doc 9) --------------
    def group_admin(self, action: str, number: int, targets: Dict[int, Optional[int]]) -> Tuple[int, str]:
        """Kick (``action="kick"``) or mute (``"shutup"``, ``targets`` = uid -> seconds, 0 =
        cancel) members. Refused unless the account is owner/admin of the group and no target
        is owner/admin (or the account). A kick removes the members. Every attempt is logged
        to ``admin_log``. Returns ``(ec, em)``; ec 0 = done, 4 = unknown group/member, 7 = no right."""
        me = self.data.account.qq
        with self._lock:
            grp = self.data.groups.get(number)
            if grp is None:
                ec, em = 4, "no such group"
            elif me not in grp.members or grp.members[me].role not in (OWNER, ADMIN):
                ec, em = 7, "no right: the account is not owner or admin"
            elif not targets or any(t not in grp.members for t in targets):
                ec, em = 4, "no such member"
            elif any(t == me or grp.members[t].role in (OWNER, ADMIN) for t in targets):
                ec, em = 7, "no right: a target is owner or admin"
            else:
                ec, em = 0, ""
                for t, seconds in targets.items():
                    if action == "kick":
                        del grp.members[t]
                        self._notify_locked("group_decrease", sub_type="kick", group_id=number, user_id=t,
                                            operator_id=me)
                    else:
                        self._notify_locked("group_ban", sub_type="ban" if seconds else "lift_ban",
                                            group_id=number, user_id=t, operator_id=me, duration=int(seconds or 0))
            now = time.time()
            for t, seconds in (targets or {None: None}).items():
                rec = {"action": action, "group_uid": number, "member_uid": t, "ok": ec == 0, "ec": ec, "time": now}
                if action == "shutup":
                    rec["seconds"] = seconds
                self._admin.append(rec)
            return ec, em

    def group_invite(self, number: int, uids: List[int]) -> Tuple[int, str]:
        """Add friends to a group where the account is owner/admin."""
        with self._lock:
            grp = self.data.groups.get(number)
            me = grp.members.get(self.data.account.qq) if grp else None
            if grp is None:
                return 4, "no such group"
            if me is None or me.role not in (OWNER, ADMIN):
                return 7, "no right"
            friends = [self.data.friends.get(u) for u in uids]
            if not friends or None in friends:
                return 4, "not a friend"
            for f in friends:
                if f.qq not in grp.members:
                    grp.members[f.qq] = Member(f.qq, f.nick, None, MEMBER, f.gender, int(time.time()), 0, 10)
                    self._notify_locked("group_increase", sub_type="invite", group_id=number, user_id=f.qq,
                                        operator_id=self.data.account.qq)
            return 0, ""

    def group_set_admin(self, number: int, uid: int, on: bool) -> Tuple[int, str]:
        """Make a member admin (or not); the account must own the group."""
        with self._lock:
            grp = self.data.groups.get(number)
            if grp is None or uid not in grp.members or grp.members[uid].role == OWNER:
                return 4, "no such group or member"
            me = grp.members.get(self.data.account.qq)
            if me is None or me.role != OWNER:
                return 7, "no right"
            if grp.members[uid].role != (ADMIN if on else MEMBER):
                self._notify_locked("group_admin", sub_type="set" if on else "unset", group_id=number, user_id=uid)
            grp.members[uid].role = ADMIN if on else MEMBER
            return 0, ""

    def group_set_card(self, number: int, uid: int, card: Optional[str]) -> Tuple[int, str]:
        """Set a member's card: one's own always, others' as owner/admin."""
        with self._lock:
            grp = self.data.groups.get(number)
            if grp is None or uid not in grp.members:
                return 4, "no such group or member"
            me = grp.members.get(self.data.account.qq)
            if uid != self.data.account.qq and (me is None or me.role not in (OWNER, ADMIN)):
                return 7, "no right"
            if (card or None) != grp.members[uid].card:
                self._notify_locked("group_card", group_id=number, user_id=uid, card_new=card or "",
                                    card_old=grp.members[uid].card or "")
            grp.members[uid].card = card
            return 0, ""

    # ---- helpers (call with the lock held) --------------------------------------------
    def _fresh_uid(self, uid: Any) -> int:
        if uid is None:
            return self.data.new_qq()
        qq = int(uid)
        if not 10_000 <= qq < 2 ** 31:
            raise ValueError("a QQ number must be between 10000 and 2^31-1")
        return qq

    def _category_index(self, category: Any) -> int:
        cats = self.data.categories
        if isinstance(category, int) or (isinstance(category, str) and category.isdigit()):
            if int(category) in cats:
                return int(category)
            raise ValueError("no category %s" % category)
        for i, n in cats.items():
            if n == category:
                return i
        i = max(cats) + 1
        cats[i] = str(category)
        return i

    def _group(self, uid: Any) -> Group:
        grp = self.data.groups.get(int(uid))
        if grp is None:
            raise KeyError("no group with uid %s" % uid)
        return grp

    def _discuss(self, key: str) -> Discuss:
        dc = self.data.discusses.get(key)
        if dc is None:
            raise KeyError("no discussion %r" % (key,))
        return dc

    def _add_member_locked(self, grp: Group, name: str, uid: Any, card: Optional[str], role: str) -> Member:
        if role not in (OWNER, ADMIN, MEMBER):
            raise ValueError("role must be owner, admin or member")
        if role == OWNER and grp.owner:
            raise ValueError("group %s already has an owner" % grp.number)
        qq = self._fresh_uid(uid)
        if qq in grp.members:
            raise ValueError("%s is already a member of %s" % (qq, grp.number))
        friend = self.data.friends.get(qq)
        m = Member(qq, name or (friend.nick if friend else str(qq)), card or None, role,
                   friend.gender if friend else "unknown", 1_500_000_000, 0, 10)
        grp.members[qq] = m
        return m


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError("name must be a non-empty string")
    if "'" in name:
        raise ValueError("names cannot contain a single quote (ptlogin answers quote with it)")
