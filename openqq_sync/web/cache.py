"""Serialized answers of the read routes, reused while the contacts have not changed.

A large world's ``get_group_info`` is megabytes of JSON; building it per request costs
seconds of CPU. Answers are kept as bytes per (route, parameters) with the ContactStore's
``version`` (a number every write raises) and rebuilt only after a change. Thread-safe.
"""

from __future__ import annotations

import collections
import threading
from typing import Any, Callable, Hashable, Tuple

from ..client.contacts import ContactStore
from .http import RawJson, dumps


class JsonCache:
    def __init__(self, max_entries: int = 64) -> None:
        self._lock = threading.Lock()
        self._entries: "collections.OrderedDict[Hashable, Tuple[int, bytes]]" = collections.OrderedDict()
        self._max = max_entries

    def answer(self, contacts: ContactStore, key: Hashable, build: Callable[[], Any]) -> RawJson:
        """The answer for ``key``: cached bytes if the contacts' version is unchanged."""
        version = contacts.version
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None and hit[0] == version:
                self._entries.move_to_end(key)
                return RawJson(hit[1])
        # Built outside the lock; the version read *before* building is stored, so a change
        # made meanwhile makes the next request rebuild.
        data = dumps(build()).encode("utf-8")
        with self._lock:
            self._entries[key] = (version, data)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return RawJson(data)
