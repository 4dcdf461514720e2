"""Public home of the exception hierarchy; see ``openqq_sync.protocol.errors``."""

from __future__ import annotations

from .protocol.errors import (
    AccountMismatch,
    LoginExpired,
    NeedRelink,
    OpenQQError,
    PollTimeout,
    ProtocolError,
    TransportError,
    retcode,
)

__all__ = [
    "OpenQQError",
    "TransportError",
    "PollTimeout",
    "ProtocolError",
    "LoginExpired",
    "NeedRelink",
    "AccountMismatch",
    "retcode",
]
