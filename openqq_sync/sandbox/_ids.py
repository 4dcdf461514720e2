"""Session ids: fresh for every QR login, derived from stable numbers without tables.

Each login (a "grant") draws one ``IdSpace``. An id is an affine permutation of the stable
number (QQ number, group number, discussion serial) over 31 bits with the top bit set, so
ids are 10-digit numbers above 2^31, never equal to a QQ number (all below 2^31), and map
back to the stable number in O(1) even for the 100,000 members of the large world.
The account itself keeps its QQ number as its id (protocol document 16.2).

Immutable after construction; thread-safe.
"""

from __future__ import annotations

import random
from typing import Any, Dict, Iterable, List, Optional, Tuple

_MASK31 = 0x7FFFFFFF
_TOP = 0x80000000
KINDS = ("person", "gid", "code", "did")


class IdSpace:
    """The id permutations of one login. ``kind`` is one of ``KINDS``."""

    def __init__(self, rng: random.Random) -> None:
        self._keys: Dict[str, Tuple[int, int, int, int]] = {}
        for kind in KINDS:
            a, b, m = rng.getrandbits(31), rng.getrandbits(31), rng.getrandbits(31) | 1
            self._keys[kind] = (a, b, m, pow(m, -1, _TOP))

    def to_id(self, kind: str, n: int) -> int:
        a, b, m, _ = self._keys[kind]
        return (((n ^ a) * m + b) & _MASK31) | _TOP

    def to_ids(self, kind: str, numbers: Iterable[int]) -> List[int]:
        """``to_id`` of every number, in order (a large group's members in one pass)."""
        a, b, m, _ = self._keys[kind]
        return [(((n ^ a) * m + b) & _MASK31) | _TOP for n in numbers]

    def from_id(self, kind: str, i: Any) -> Optional[int]:
        """The stable number behind id ``i``, or ``None`` if ``i`` is not an id of this kind."""
        try:
            n = int(i)
        except (TypeError, ValueError):
            return None
        if not _TOP <= n <= 0xFFFFFFFF:
            return None
        a, b, _, minv = self._keys[kind]
        return ((((n & _MASK31) - b) * minv) & _MASK31) ^ a
