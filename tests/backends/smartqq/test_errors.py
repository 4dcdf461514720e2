import pytest

from openqq_sync import errors
from openqq_sync.errors import (
    LoginExpired,
    NeedRelink,
    OpenQQError,
    PollTimeout,
    ProtocolError,
    TransportError,
    retcode,
)


def test_hierarchy():
    assert issubclass(TransportError, OpenQQError)
    assert issubclass(PollTimeout, TransportError)
    assert issubclass(ProtocolError, OpenQQError)
    assert not issubclass(ProtocolError, TransportError)
    assert errors.LoginExpired is LoginExpired


@pytest.mark.parametrize("code, cls", [
    (100, LoginExpired), (103, LoginExpired), (100000, LoginExpired),
    (120, NeedRelink), (121, NeedRelink),
])
def test_registered_retcodes(code, cls):
    err = ProtocolError.for_retcode(code, {"retcode": code})
    assert type(err) is cls
    assert err.retcode == code
    assert err.body == {"retcode": code}


def test_unknown_retcode_keeps_raw_body():
    body = {"retcode": 100001, "errmsg": "奇怪"}
    err = ProtocolError.for_retcode(100001, body)
    assert type(err) is ProtocolError
    assert err.body is body
    assert "100001" in str(err)


def test_non_integer_retcode_is_plain():
    assert type(ProtocolError.for_retcode(None, "x")) is ProtocolError
    assert type(ProtocolError.for_retcode("100", "x")) is ProtocolError


def test_double_registration_refused():
    with pytest.raises(ValueError):
        @retcode(103)
        class Again(ProtocolError):
            pass
