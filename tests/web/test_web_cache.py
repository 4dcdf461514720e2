"""JsonCache: serialized read answers reused only while the contacts' version is unchanged."""

from __future__ import annotations

import json

from openqq_sync.web.cache import JsonCache


class Contacts:
    def __init__(self, version=None):
        if version is not None:
            self.version = version


def test_reuses_bytes_until_the_version_changes():
    cache, contacts, builds = JsonCache(), Contacts(version=1), []

    def build():
        builds.append(1)
        return [{"name": "钟辉", "n": len(builds)}]

    first = cache.answer(contacts, "friends", build)
    assert json.loads(first.data) == [{"name": "钟辉", "n": 1}] and "钟辉".encode() in first.data
    assert cache.answer(contacts, "friends", build).data == first.data and len(builds) == 1
    contacts.version = 2
    assert json.loads(cache.answer(contacts, "friends", build).data)[0]["n"] == 2


def test_without_a_version_nothing_is_cached_and_entries_are_bounded():
    cache, builds = JsonCache(max_entries=2), []
    for _ in range(3):
        cache.answer(Contacts(), "k", lambda: builds.append(1) or [])
    assert len(builds) == 3
    versioned = Contacts(version=1)
    for key in ("a", "b", "c"):
        cache.answer(versioned, key, lambda: builds.append(1) or [])
    cache.answer(versioned, "a", lambda: builds.append(1) or [])     # evicted: rebuilt
    assert len(builds) == 7
