"""The tokens the SmartQQ service checked (protocol document section 4), server side.

The sandbox computes these itself and imports nothing from ``openqq_sync.backends``
(house style S1), so a bug in the client's copy cannot cancel itself out in tests.
Pure functions, thread-safe.
"""

from __future__ import annotations

from typing import Optional

_MASK31 = 0x7FFFFFFF
_MASK32 = 0xFFFFFFFF


def hash33(s: Optional[str]) -> int:
    """``ptqrtoken`` from the ``qrsig`` cookie (and ``pt4_ptcz`` from ``ptcz``)."""
    e = 0
    for c in s or "":
        e = (33 * e + ord(c)) & _MASK31
    return e


def time33(s: Optional[str]) -> int:
    """``auth_token`` of pt4_auth from ``supertoken`` (and ``pt4_hkey`` from ``skey``)."""
    e = 0
    for c in s or "":
        e = (33 * e + ord(c)) & _MASK32
    return e


def bkn(skey: Optional[str]) -> int:
    """The qun.qq.com csrf token ``bkn`` computed from the ``skey`` cookie."""
    r = 5381
    for c in skey or "":
        r = (33 * r + ord(c)) & _MASK31
    return r


def friend_hash(ptwebqq: Optional[str], uin: int) -> str:
    """The ``hash`` of get_user_friends2 / get_group_name_list_mask2.

    :param ptwebqq: the ptwebqq the client sent in login2 (``None`` counts as empty).
    :param uin: the account's QQ number.
    """
    ptb = [0, 0, 0, 0]
    for i, c in enumerate(ptwebqq or ""):
        ptb[i % 4] ^= ord(c)
    salt = "ECOK"
    ub = [((uin >> shift) & 0xFF) ^ ord(salt[i]) for i, shift in enumerate((24, 16, 8, 0))]
    out = [ptb[0], ub[0], ptb[1], ub[1], ptb[2], ub[2], ptb[3], ub[3]]
    return "".join("%02X" % (b & 0xFF) for b in out)
