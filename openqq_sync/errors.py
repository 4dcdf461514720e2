"""The one exception hierarchy of the package (house style R3).

``OpenQQError`` is the root. ``TransportError`` covers everything below the protocol
(network, timeouts, non-2xx, bodies that are not the JSON we asked for); ``PollTimeout``
is its read-timeout case. ``ProtocolError`` is a well-formed answer with a bad ``retcode``;
subclasses register the retcodes they stand for with ``@retcode(...)`` and
``ProtocolError.for_retcode`` picks the class, so retry code switches on classes, never
on message strings. No I/O here.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Tuple, Type, TypeVar

__all__ = [
    "OpenQQError",
    "TransportError",
    "PollTimeout",
    "ProtocolError",
    "LoginExpired",
    "NeedRelink",
    "AccountMismatch",
    "AbortedError",
    "LoginFailed",
    "LoginStopped",
    "Kicked",
    "retcode",
]


class OpenQQError(Exception):
    """Root of every error this package raises on purpose."""


class TransportError(OpenQQError):
    """The request did not produce a usable answer.

    :param message: what went wrong, for logs.
    :param url: the URL (already redacted by the transport), if known.
    :param status: the HTTP status for a non-2xx answer, else ``None``.
    :param aborted: ``True`` when ``Transport.abort`` cut the connection on purpose.
    """

    def __init__(self, message: str, *, url: Optional[str] = None, status: Optional[int] = None,
                 aborted: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.aborted = aborted


class PollTimeout(TransportError):
    """The server sent nothing within the read timeout (for poll2: "no news")."""


class AbortedError(TransportError):
    """The request's session was aborted on purpose (``stop()``, a relogin)."""

    def __init__(self, message: str = "session aborted", **kwargs: Any) -> None:
        kwargs["aborted"] = True
        super().__init__(message, **kwargs)


_E = TypeVar("_E", bound="Type[ProtocolError]")

_REGISTRY: Dict[int, Type["ProtocolError"]] = {}


def retcode(*codes: int) -> Callable[[_E], _E]:
    """Class decorator: make ``ProtocolError.for_retcode`` build this class for ``codes``."""

    def register(cls: _E) -> _E:
        for code in codes:
            if code in _REGISTRY:
                raise ValueError("retcode %d is already mapped to %s" % (code, _REGISTRY[code].__name__))
            _REGISTRY[code] = cls
        cls.retcodes = tuple(codes)
        return cls

    return register


class ProtocolError(OpenQQError):
    """The service answered, but with a retcode that means failure.

    :param retcode: the ``retcode`` (or ``ec``) of the answer; ``None`` if it had none.
    :param body: the parsed JSON (or raw text) of the answer, kept for diagnosis.
    """

    retcodes: Tuple[int, ...] = ()

    def __init__(self, retcode: Optional[int], body: Any = None, message: Optional[str] = None) -> None:
        super().__init__(message or "retcode %s" % (retcode,))
        self.retcode = retcode
        self.body = body

    @staticmethod
    def for_retcode(code: Optional[int], body: Any = None, message: Optional[str] = None) -> "ProtocolError":
        """Build the registered subclass for ``code``, or a plain ``ProtocolError``."""
        cls = _REGISTRY.get(code, ProtocolError) if isinstance(code, int) else ProtocolError
        return cls(code, body, message)


@retcode(100, 103, 100000)
class LoginExpired(ProtocolError):
    """The SmartQQ session is gone: log in again (quick restore first)."""


@retcode(120, 121)
class NeedRelink(ProtocolError):
    """The channel lost its session but it may be re-linked with login2 (5.16)."""


class AccountMismatch(ProtocolError):
    """login2 (or the QR scan) logged in a different QQ number than the one expected."""


class LoginFailed(OpenQQError):
    """The login cannot succeed without the user's help; the client stops."""


class LoginStopped(OpenQQError):
    """stop() was called while logging in."""


class Kicked(OpenQQError):
    """The service forced this session offline; the client stops without a relogin."""
