"""Every test vector of protocol document section 4."""

import pytest

from openqq_sync.backends.smartqq.hashes import bkn, friend_hash, hash33, time33

LONG = "Zb9X4k-yY3pQ*abc-Qq1mN2bV3cX4zL5kJ6hG7fD8sA9"


@pytest.mark.parametrize("s, expected", [
    ("a", 97),
    ("abc", 108966),
    ("qrsig_value_0123456789", 1442059150),
    (LONG, 1355631857),
])
def test_hash33(s, expected):
    assert hash33(s) == expected


def test_hash33_of_nothing_is_zero():
    assert hash33(None) == 0
    assert hash33("") == 0


@pytest.mark.parametrize("s, expected", [
    ("qrsig_value_0123456789", 3589542798),
    (LONG, 3503115505),
])
def test_time33(s, expected):
    assert time33(s) == expected


@pytest.mark.parametrize("s, expected", [
    ("a", 177670),
    ("abc", 193485963),
    ("@Ab3Cd5Ef", 27679842),
    (LONG, 1433986422),
])
def test_bkn(s, expected):
    assert bkn(s) == expected


def test_bkn_without_skey_is_none():
    assert bkn("") is None
    assert bkn(None) is None


@pytest.mark.parametrize("ptwebqq, uin, expected", [
    ("", 123456789, "004200180082005E"),
    (None, 2890374383, "00E9000400D300A4"),
    ("a1b2c3d4e5f6", 2890374383, "67E9370460D330A4"),
    ("ptwebqq0123456789abcdef0123456789abcdef0123456789abcdef01234567", 1234567,
     "4F45015102993ECC"),
])
def test_friend_hash(ptwebqq, uin, expected):
    assert friend_hash(ptwebqq, uin) == expected
