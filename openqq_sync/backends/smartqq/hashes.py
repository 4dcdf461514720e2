"""The small hash functions SmartQQ and ptlogin expect (protocol document section 4).

Pure functions on ASCII strings; no I/O. ``None`` is accepted wherever the original could
pass an undefined value (it behaves like the empty string).
"""

from __future__ import annotations

from typing import Optional

_MASK31 = 0x7FFFFFFF
_MASK32 = 0xFFFFFFFF


def hash33(s: Optional[str]) -> int:
    """``ptqrtoken`` (from cookie ``qrsig``) and ``pt4_ptcz`` (from cookie ``ptcz``).

    The original folds ``e = 33*e + ord(c)`` in wrapping 64-bit integers and keeps the low
    31 bits; reducing after every step gives the same low bits.
    """
    e = 0
    for c in s or "":
        e = (33 * e + ord(c)) & _MASK31
    return e


def time33(s: Optional[str]) -> int:
    """``auth_token`` for pt4_auth (from ``supertoken``) and ``pt4_hkey`` (from ``skey``)."""
    e = 0
    for c in s or "":
        e = (33 * e + ord(c)) & _MASK32
    return e


def bkn(skey: Optional[str]) -> Optional[int]:
    """The csrf token ``bkn`` of every qun.qq.com / qinfo call; ``None`` without an skey."""
    if not skey:
        return None
    r = 5381
    for c in skey:
        r = (33 * r + ord(c)) & _MASK31
    return r


def friend_hash(ptwebqq: Optional[str], uin: int) -> str:
    """The ``hash`` field of get_user_friends2 and get_group_name_list_mask2.

    :param ptwebqq: the ptwebqq value, may be empty or ``None``.
    :param uin: the logged-in account's QQ number.
    :returns: 16 upper-case hex digits.
    """
    ptb = [0, 0, 0, 0]
    for i, c in enumerate(ptwebqq or ""):
        ptb[i % 4] ^= ord(c)
    uin = int(uin)
    ub = [
        ((uin >> 24) & 0xFF) ^ ord("E"),
        ((uin >> 16) & 0xFF) ^ ord("C"),
        ((uin >> 8) & 0xFF) ^ ord("O"),
        (uin & 0xFF) ^ ord("K"),
    ]
    mixed = [ptb[0], ub[0], ptb[1], ub[1], ptb[2], ub[2], ptb[3], ub[3]]
    return "".join("%02X" % (b & 0xFF) for b in mixed)
