"""Loading and refreshing contacts: the backend's loads merged into the ContactStore.

* ``load_initial()`` (protocol thread, state ``updating``): user, friends (+ ext), groups
  (+ ext), discussions, then **every** group's and discussion's members with
  ``member_fetch_workers`` parallel workers, so the API shows members from the first
  request. Nothing is emitted: a login is a first load (6.10).
* ``refresh()`` (updater thread): the lists again, diffed into ``new_*``/``lose_*``/
  ``*_property_change`` changes; ext data is fetched for what is new *before* the changes
  are returned, so a ``new_friend`` already carries its ``uid``.
* ``reload_*`` (protocol thread, unknown senders, 7.6) and ``load_group``/``load_discuss``
  (any thread, lazy loads) return changes as well.

All loads take one lock: a refresh, a reload and a login load never interleave. Fetch
failures are logged by the backend and leave the store as it was. The garbage collector is
left alone: the large-world login meets its target without pausing it (bench/RESULTS.md).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Callable, List, Sequence, Tuple

from ..errors import LoginExpired
from ..model import Discuss, Group
from .contacts import Change
from .runtime import Runtime

log = logging.getLogger(__name__)


Spawn = Callable[[str, Callable[[threading.Event], None]], threading.Thread]


class Loader:
    """Contact loading for one client. Thread-safe (one load at a time).

    :param spawn: starts a named, crash-reporting worker thread (the Client's).
    """

    def __init__(self, rt: Runtime, spawn: Spawn) -> None:
        self._rt = rt
        self._spawn = spawn
        self._lock = threading.RLock()

    @property
    def _store(self) -> Any:
        return self._rt.contacts

    def _parallel(self, fn: Callable[[Any], List[Change]], items: Sequence[Any]) -> List[Change]:
        """Run ``fn(item)`` for every item on up to ``member_fetch_workers`` threads."""
        items = list(items)
        if not items:
            return []
        rt = self._rt
        workers = max(1, min(rt.config.member_fetch_workers, len(items)))
        if workers == 1:
            out: List[Change] = []
            for item in items:
                if rt.stop.is_set():
                    break
                out.extend(fn(item))
            return out
        todo: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        for item in items:
            todo.put(item)
        results: List[List[Change]] = []
        failures: List[BaseException] = []
        lock = threading.Lock()

        def worker(ready: threading.Event) -> None:
            ready.set()
            try:
                while not rt.stop.is_set():
                    try:
                        item = todo.get_nowait()
                    except queue.Empty:
                        return
                    try:
                        changes = fn(item)
                    except LoginExpired as e:
                        with lock:
                            failures.append(e)
                        return
                    except Exception as e:  # one group's odd answer must not end the load
                        log.error("member load failed", exc_info=e)
                        continue
                    with lock:
                        results.append(changes)
            finally:
                # Close this thread's connections, or every load (each refresh, each
                # relogin) would keep them open for the life of the client.
                rt.backend.end_thread()

        threads = [self._spawn(f"members_{n}", worker) for n in range(workers)]
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return [change for changes in results for change in changes]

    # -- single objects -------------------------------------------------------------------
    def _group_members(self, group: Group) -> List[Change]:
        return self._rt.backend.load_group_members(self._store, group)

    def _discuss_members(self, discuss: Discuss) -> List[Change]:
        return self._rt.backend.load_discuss_members(self._store, discuss)

    def load_group(self, group: Group) -> List[Change]:
        """Fetch one group's members (+ ext). Blocking; any thread."""
        with self._lock:
            return self._group_members(group)

    def load_discuss(self, discuss: Discuss) -> List[Change]:
        with self._lock:
            return self._discuss_members(discuss)

    # -- lists ------------------------------------------------------------------------------
    def _friends(self) -> List[Change]:
        return self._rt.backend.load_friends(self._store) or []

    def _groups(self) -> Tuple[List[Change], List[Group]]:
        return self._rt.backend.load_groups(self._store) or ([], [])

    def _discusses(self) -> Tuple[List[Change], List[Discuss]]:
        if not self._rt.backend.capabilities.discuss:
            return [], []
        return self._rt.backend.load_discusses(self._store) or ([], [])

    # -- the three entry points -------------------------------------------------------------
    def load_initial(self, *, members: bool = True) -> None:
        """The login load: the lists, and with ``members`` every member list; no events.
        Protocol thread."""
        with self._lock:
            store = self._store
            store.clear()
            self._rt.backend.load_user(store)
            self._friends()
            self._groups()
            self._discusses()
            if members:
                # One pool for both kinds: no phase waits for the slowest group of another.
                owners: List[Any] = list(store.groups()) + list(store.discusses())
                self._parallel(self._members_of, owners)
            log.info("contacts loaded: %s", store.counts())

    def load_members(self) -> List[Change]:
        """Every member list still empty (``member_load="background"``): member loader thread.

        Holds no list lock, so on-demand loads of single groups (a message from a member,
        an API request) go ahead meanwhile; stops at a relogin (the login count changes).
        """
        rt = self._rt
        generation = rt.login_count
        store = self._store
        owners: List[Any] = list(store.groups()) + list(store.discusses())

        def one(owner: Any) -> List[Change]:
            if rt.login_count != generation or owner.members:
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
        config = self._rt.config
        backend = self._rt.backend
        changes: List[Change] = []
        with self._lock:
            store = self._store
            if config.is_update_user:
                backend.load_user(store)
            if config.is_update_friend:
                changes.extend(self._friends())
            if config.is_update_group:
                group_changes, _added = self._groups()
                changes.extend(group_changes)
                if config.is_update_group_member:
                    changes.extend(self._parallel(self._refresh_group, store.groups()))
            if config.is_update_discuss:
                discuss_changes, _ = self._discusses()
                changes.extend(discuss_changes)
                changes.extend(self._parallel(self._discuss_members, store.discusses()))
        return _without_first_values(changes)

    def _refresh_group(self, group: Group) -> List[Change]:
        # Member ext only where members are new (their uids), as the original's reaction
        # to new_group_member; a group never loaded gets its ext too.
        return self._rt.backend.load_group_members(self._store, group, ext="new")

    def reload_friends(self) -> List[Change]:
        """Friends again (an unknown sender wrote, 7.6), with ext for the new ones."""
        with self._lock:
            return self._friends()

    def reload_groups(self) -> List[Change]:
        """The group list again; new groups get ext data and members."""
        with self._lock:
            changes, added = self._groups()
            if added:
                changes.extend(self._parallel(self._group_members, added))
            return _without_first_values(changes)

    def reload_discusses(self) -> List[Change]:
        with self._lock:
            changes, added = self._discusses()
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
