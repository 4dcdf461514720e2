"""Loading and refreshing contacts: the fetchers of protocol/ merged into the ContactStore.

* ``load_initial()`` (protocol thread, state ``updating``): user, friends + ext, groups +
  group ext, discussions, then **every** group's members (detail + member ext) and every
  discussion's members with ``member_fetch_workers`` parallel workers, so the API shows
  members from the first request. Nothing is emitted: a login is a first load (6.10).
* ``refresh()`` (updater thread): the lists again, diffed into ``new_*``/``lose_*``/
  ``*_property_change`` changes; ext data is fetched for what is new *before* the changes
  are returned, so a ``new_friend`` already carries its ``uid``.
* ``reload_*`` (protocol thread, unknown senders, 7.6) and ``load_group``/``load_discuss``
  (any thread, lazy loads) return changes as well.

All loads take one lock: a refresh, a reload and a login load never interleave. Worker
threads get their own Sessions and register them with the client so ``stop()`` can abort
their in-flight requests. Fetch failures are logged and leave the store as it was.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

from .contacts import Change
from .model import Discuss, Group
from .protocol import contacts as api
from .protocol import ext as ext_api
from .protocol.errors import LoginExpired, OpenQQError

log = logging.getLogger(__name__)


class Loader:
    """Contact loading for one client. Thread-safe (one load at a time)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.RLock()

    # -- helpers ------------------------------------------------------------------------
    @property
    def _t(self) -> Any:
        return self._client._transport

    @property
    def _store(self) -> Any:
        return self._client.contacts

    def _creds(self) -> Any:
        creds = self._client._creds
        if creds is None:
            raise LoginExpired(None, message="not logged in")
        return creds

    def _try(self, what: str, fn: Callable[[], Any]) -> Any:
        """Run one fetch; log and return None on failure (LoginExpired propagates).

        Nothing is fetched once the client stops: stop() aborts the in-flight request, and
        the next one would otherwise go out on a fresh Session.
        """
        client = self._client
        if client._stop_event.is_set():
            return None
        # Registered so that stop() can abort it, whichever thread this is.
        client._register_session(self._t.thread_session())
        try:
            return fn()
        except LoginExpired:
            raise
        except OpenQQError as e:
            if self._client._stop_event.is_set():
                return None
            log.warning("fetching %s failed: %s", what, e)
            return None

    def _parallel(self, fn: Callable[[Any], List[Change]], items: Sequence[Any]) -> List[Change]:
        """Run ``fn(item)`` for every item on up to ``member_fetch_workers`` threads, with
        the cyclic garbage collector paused (see ``_gc_paused``)."""
        if not items:
            return []
        with _gc_paused():
            return self._run_parallel(fn, items)

    def _run_parallel(self, fn: Callable[[Any], List[Change]], items: Sequence[Any]) -> List[Change]:
        workers = max(1, min(int(self._client.config.member_fetch_workers), len(items)))
        if workers == 1:
            out: List[Change] = []
            for item in items:
                if self._client._stop_event.is_set():
                    break
                out.extend(fn(item))
            return out
        client = self._client

        used = set()
        used_lock = threading.Lock()

        def task(item: Any) -> List[Change]:
            if client._stop_event.is_set():
                return []
            try:
                return fn(item)
            finally:
                with used_lock:
                    used.add(self._t.thread_session())

        name = f"openqq-{client.config.account}-members"
        changes: List[Change] = []
        expired: Optional[BaseException] = None
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
            for result in pool.map(_catching(task), items):
                if isinstance(result, LoginExpired):
                    expired = result
                elif isinstance(result, BaseException):
                    log.error("member load failed", exc_info=result)
                else:
                    changes.extend(result)
        # The workers are gone: close their sessions, or every load (each refresh, each
        # relogin) would keep their pooled connections open for the life of the client.
        for session in used:
            self._t.discard_session(session)
        if expired is not None:
            raise expired
        return changes

    # -- single objects -------------------------------------------------------------------
    def _group_members(self, group: Group, *, with_ext: bool = True) -> List[Change]:
        creds = self._creds()
        detail = self._try(f"group {group.get('name')!r} members",
                           lambda: api.fetch_group_detail(self._t, creds, group.get("code")))
        if detail is None:
            return []
        record, members = detail
        fresh = not group.members
        changes = self._store.merge_group_detail(group, record, members, owned=True)
        if with_ext:
            changes.extend(self._group_members_ext(group, fresh=fresh))
        return changes

    def _group_members_ext(self, group: Group, *, fresh: bool = False) -> List[Change]:
        """Member ext; for a member list loaded just now (``fresh``) the ext values are
        first values of a first load, not changes, and are not reported."""
        user = self._store.user
        if group.get("uid") is None or user is None or user.get("uid") is None:
            return []
        ext = self._try(f"group {group.get('name')!r} member ext",
                        lambda: ext_api.fetch_group_members_ext(self._t, group.get("uid"), user.get("uid")))
        if ext is None:
            return []
        return self._store.match_group_members_ext(group, ext, report=not fresh)

    def _discuss_members(self, discuss: Discuss) -> List[Change]:
        creds = self._creds()
        record = self._try(f"discussion {discuss.get('name')!r} members",
                           lambda: api.fetch_discuss_detail(self._t, creds, discuss.get("id")))
        if record is None:
            return []
        return self._store.merge_discuss_detail(discuss, record)

    def load_group(self, group: Group) -> List[Change]:
        """Fetch one group's members (+ ext). Blocking; any thread."""
        with self._lock:
            return self._group_members(group)

    def load_discuss(self, discuss: Discuss) -> List[Change]:
        with self._lock:
            return self._discuss_members(discuss)

    # -- lists ------------------------------------------------------------------------------
    def _user(self) -> None:
        creds = self._creds()
        record = self._try("the user", lambda: api.fetch_user(self._t, creds))
        if record is None:
            record = {"id": creds.uid, "uid": creds.uid}
        self._store.set_user(record)

    def _friends(self) -> Tuple[bool, List[Change]]:
        creds = self._creds()
        records = self._try("friends", lambda: api.fetch_friends(self._t, creds))
        if records is None:
            return False, []
        return True, self._store.merge_friends(records)

    def _friends_ext(self) -> None:
        ext = self._try("friend ext", lambda: ext_api.fetch_friends_ext(self._t))
        if ext is not None:
            matched = self._store.match_friends_ext(ext)
            log.debug("friend ext: %d of %d matched", matched, len(ext))

    def _groups(self) -> Tuple[bool, List[Change], List[Group]]:
        creds = self._creds()
        records = self._try("groups", lambda: api.fetch_groups(self._t, creds))
        if records is None:
            return False, [], []
        changes, added = self._store.merge_groups(records)
        return True, changes, added

    def _groups_ext(self) -> List[Change]:
        ext = self._try("group ext", lambda: ext_api.fetch_groups_ext(self._t))
        return self._store.match_groups_ext(ext) if ext is not None else []

    def _discusses(self) -> Tuple[bool, List[Change], List[Discuss]]:
        creds = self._creds()
        records = self._try("discussions", lambda: api.fetch_discusses(self._t, creds))
        if records is None:
            return False, [], []
        changes, added = self._store.merge_discusses(records)
        return True, changes, added

    # -- the three entry points -------------------------------------------------------------
    def load_initial(self, *, members: bool = True) -> None:
        """The login load: the lists, and with ``members`` every member list; no events.
        Protocol thread."""
        with self._lock:
            store = self._store
            store.clear()
            self._user()
            self._friends()
            self._friends_ext()
            self._groups()
            self._groups_ext()
            self._discusses()
            if members:
                # One pool for both kinds: no phase waits for the slowest group of another.
                owners: List[Any] = list(store.groups()) + list(store.discusses())
                self._parallel(self._members_of, owners)
            log.info("contacts loaded: %s", store.counts())

    def load_members(self) -> List[Change]:
        """Every member list still empty (``member_load="background"``): member loader thread.

        Holds no list lock, so on-demand loads of single groups (a message from a member,
        an API request) go ahead meanwhile; stops at a relogin (the credentials change).
        """
        client = self._client
        generation = client._login_count
        store = self._store
        owners: List[Any] = list(store.groups()) + list(store.discusses())

        def one(owner: Any) -> List[Change]:
            if client._login_count != generation or owner.members:
                return []
            return self._members_of(owner)

        changes = self._parallel(one, owners)
        log.info("members loaded: %s", store.counts())
        return changes

    def _members_of(self, owner: Any) -> List[Change]:
        if isinstance(owner, Group):
            return self._group_members(owner)
        return self._discuss_members(owner)

    def refresh(self) -> List[Change]:
        """The periodic refresh (6.11) with the options ``is_update_*``. Updater thread."""
        config = self._client.config
        changes: List[Change] = []
        with self._lock:
            store = self._store
            if config.is_update_user:
                self._user()
            if config.is_update_friend:
                ok, friend_changes = self._friends()
                if any(name == "new_friend" for name, _ in friend_changes):
                    self._friends_ext()
                changes.extend(friend_changes)
            if config.is_update_group:
                ok, group_changes, added = self._groups()
                if added:
                    group_changes.extend(self._groups_ext())
                changes.extend(group_changes)
                if config.is_update_group_member:
                    changes.extend(self._parallel(self._refresh_group, store.groups()))
            if config.is_update_discuss:
                ok, discuss_changes, _ = self._discusses()
                changes.extend(discuss_changes)
                changes.extend(self._parallel(self._discuss_members, store.discusses()))
        return _without_first_values(changes)

    def _refresh_group(self, group: Group) -> List[Change]:
        # Member ext only where members are new (their uids), as the original's reaction
        # to new_group_member; a group never loaded gets its ext too.
        fresh = not group.members
        changes = self._group_members(group, with_ext=False)
        if fresh or any(name == "new_group_member" for name, _ in changes):
            changes.extend(self._group_members_ext(group, fresh=fresh))
        return changes

    def reload_friends(self) -> List[Change]:
        """Friends again (an unknown sender wrote, 7.6), with ext for the new ones."""
        with self._lock:
            ok, changes = self._friends()
            if any(name == "new_friend" for name, _ in changes):
                self._friends_ext()
            return changes

    def reload_groups(self) -> List[Change]:
        """The group list again; new groups get ext data and members."""
        with self._lock:
            ok, changes, added = self._groups()
            if added:
                changes.extend(self._groups_ext())
                changes.extend(self._parallel(self._group_members, added))
            return _without_first_values(changes)

    def reload_discusses(self) -> List[Change]:
        with self._lock:
            ok, changes, added = self._discusses()
            changes.extend(self._parallel(self._discuss_members, added))
            return changes


def _without_first_values(changes: List[Change]) -> List[Change]:
    """Drop property changes of objects that are new in this same batch: their ext data
    (uid, role...) arrives with them, and ``new_*`` already carries it (the events are
    emitted after the whole batch is merged)."""
    new = {id(kw[name.split("_", 1)[1]]) for name, kw in changes
           if name.startswith("new_") and name.split("_", 1)[1] in kw}
    new |= {id(kw["member"]) for name, kw in changes if name.startswith("new_") and "member" in kw}
    if not new:
        return changes
    return [(name, kw) for name, kw in changes
            if not (name.endswith("_property_change") and id(kw.get("obj")) in new)]


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while member lists load; nested and concurrent
    pauses count, and the collector's previous state comes back with the last one.

    A large world's member load allocates some 1.5 million containers (decoded answers,
    records, member objects) that all stay alive: the collector, triggered by the
    allocations, re-scanned the growing heap again and again, a third of the client's CPU
    at login (0.9 s of 3 s). Reference counting still frees everything at once; only cyclic
    garbage waits the few seconds until the collector runs again. One collection first, so
    the contacts a relogin has just dropped (cycles: members and their group) are freed
    before the new ones load instead of doubling the peak memory.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            if _gc_was_enabled:
                gc.collect()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _catching(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def wrapper(item: Any) -> Any:
        try:
            return fn(item)
        except BaseException as e:  # handed back to the caller thread, which decides
            return e
    return wrapper
