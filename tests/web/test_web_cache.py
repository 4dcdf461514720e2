"""JsonCache: serialized read answers reused only while the contacts' version is unchanged."""

from __future__ import annotations

import json

from openqq_sync.client.contacts import ContactStore
from openqq_sync.web.cache import JsonCache


def _write(store: ContactStore, n: int) -> None:
    """A write to the store (which raises its version)."""
    store.merge_friends([{"id": 11, "uid": 1011, "name": f"张三{n}", "category": "朋友"}])


def test_reuses_bytes_until_the_version_changes():
    cache, contacts, builds = JsonCache(), ContactStore(), []
    _write(contacts, 1)

    def build():
        builds.append(1)
        return [{"name": "钟辉", "n": len(builds)}]

    first = cache.answer(contacts, "friends", build)
    assert json.loads(first.data) == [{"name": "钟辉", "n": 1}] and "钟辉".encode() in first.data
    assert cache.answer(contacts, "friends", build).data == first.data and len(builds) == 1
    _write(contacts, 2)
    assert json.loads(cache.answer(contacts, "friends", build).data)[0]["n"] == 2


def test_entries_are_bounded():
    cache, builds, contacts = JsonCache(max_entries=2), [], ContactStore()
    for key in ("a", "b", "c"):
        cache.answer(contacts, key, lambda: builds.append(1) or [])
    cache.answer(contacts, "c", lambda: builds.append(1) or [])     # kept: not rebuilt
    assert len(builds) == 3
    cache.answer(contacts, "a", lambda: builds.append(1) or [])     # evicted: rebuilt
    assert len(builds) == 4
