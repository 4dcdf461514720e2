"""The seam between the client core and one QQ protocol (the backend).

The core (``openqq_sync.client``: state machine, ContactStore, signals, send queue and
pacing, relogin policy, tmpdir files) drives a :class:`Backend` and knows nothing of the
protocol behind it. SmartQQ (``backends/smartqq``) is the first implementation; a OneBot v11
backend fits the same shape: its ``login`` connects to a server that is already logged in
(``get_login_info``), ``receive`` is one WebSocket read, ids are QQ numbers that never
change, and it reports ``Capabilities(discuss=False, qr_login=False)``.

Threads: ``login``, ``receive`` and ``interrupt_receive``'s target run on the protocol thread;
``send`` on the sender thread; the ``load_*`` methods on the protocol, updater and member
loader threads (one load at a time per kind, the core's loader serialises them); ``abort``
and ``interrupt_receive`` may be called from any thread. Failures are raised as
:mod:`openqq_sync.errors` classes: ``LoginExpired`` means "log in again", ``TransportError``
a network failure, ``ProtocolError`` a refused answer, ``Kicked`` the end of the session.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Protocol, Sequence, Tuple, Union

if TYPE_CHECKING:
    from ..client.contacts import Change, ContactStore
    from ..client.state import ClientState
    from ..config import Config
    from ..model import Discuss, Group, GroupMember, Message

__all__ = [
    "Backend", "BackendHost", "Capabilities", "SendResult", "LoginResult",
    "MessageEvent", "PresenceEvent", "KickedEvent", "ContactsEvent", "Event",
    "register", "create", "names",
]


@dataclasses.dataclass(frozen=True)
class Capabilities:
    """Facts about a backend the core and the API may ask about."""

    discuss: bool = True          # discussion groups exist (SmartQQ yes, OneBot v11 no)
    qr_login: bool = True         # the login shows a QR code to scan (input_qrcode, scan states)
    sess: bool = True             # temporary messages to group members can be sent
    group_admin: bool = True      # mute and kick


@dataclasses.dataclass(frozen=True)
class LoginResult:
    """A successful login: ``is_scan`` 1 when a person scanned a QR code, else 0."""

    is_scan: int


@dataclasses.dataclass(frozen=True)
class SendResult:
    """The outcome of one send attempt, in the original's ``code``/``msg``/``info`` terms.

    ``final``: do not retry even with TTL left (a refused discussion send; OneBot's
    retcode 1200, where the message may already be out). ``session_suspect``: a failure that
    hints the session is bad; enough in a row make the core ask for a relogin.
    """

    code: int
    msg: str
    info: str
    final: bool = False
    session_suspect: bool = False

    @property
    def ok(self) -> bool:
        return self.code == 0

    def status(self) -> Tuple[int, str, str]:
        return (self.code, self.msg, self.info)


@dataclasses.dataclass(frozen=True)
class MessageEvent:
    """A chat message as the backend parsed it.

    ``item`` holds ``type`` (``friend_message``/``group_message``/``discuss_message``/
    ``sess_message``), ``id``, ``sender_id``, ``receiver_id``, ``group_id``/``discuss_id``,
    ``via``, ``time``, ``content`` and ``raw_content``; the core resolves the ids against
    its ContactStore.
    """

    item: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class PresenceEvent:
    """A friend's presence changed."""

    friend_id: Any
    state: Any
    client_type: Any = None


@dataclasses.dataclass(frozen=True)
class KickedEvent:
    """The service forced this session offline: the core stops (no relogin)."""

    reason: str


@dataclasses.dataclass(frozen=True)
class ContactsEvent:
    """Some contacts changed, or may have: the core reloads ``scope`` through the backend's
    ``load_*`` and reports the differences, as the periodic refresh does.

    ``scope``: ``"all"`` (the refresh: after a reconnect, when events may have been missed),
    ``"friends"``, ``"groups"`` (the list; new groups get their members) or ``"group"``
    (the members of ``group_id``). OneBot turns its notices into these, so every report
    comes from the one diff machinery.
    """

    scope: str
    group_id: Any = None


Event = Union[MessageEvent, PresenceEvent, KickedEvent, ContactsEvent]


class BackendHost(Protocol):
    """What the core offers a backend while it logs in (the core's runtime implements it)."""

    @property
    def config(self) -> "Config": ...

    def stopping(self) -> bool:
        """True once the client stops; a login must then raise ``LoginStopped``."""

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the client stops first (then True)."""

    def set_state(self, state: "ClientState") -> None:
        """Report a login state (``scaning``, ``confirming``). A backend whose session can
        pause without a relogin (OneBot: the server connection is down, or the account is
        offline) may also report ``loading`` and ``updating`` from ``receive``; the next
        batch it returns puts the client back to ``running``."""

    def show_qrcode(self, png: Optional[bytes]) -> None:
        """A new QR code to scan (saved, printed, ``input_qrcode`` emitted); None: gone."""

    def qrcode_expired(self, count: int) -> None:
        """The QR code expired for the ``count``-th time (``qrcode_expire`` emitted)."""


class Backend(Protocol):
    """One QQ account over one protocol. See the module docstring for threads and errors."""

    name: str
    capabilities: Capabilities

    # -- session -----------------------------------------------------------------------
    def restore(self) -> bool:
        """Load a saved session (cookies) from the tmpdir; True if there was one."""

    def save(self) -> None:
        """Save the session for the next start (no-op when the backend keeps none)."""

    def login(self, host: BackendHost) -> LoginResult:
        """Log in, a saved session first. :raises LoginFailed: :raises LoginStopped:"""

    def logout(self) -> None:
        """Leave the session (a requested relogin); best effort."""

    def forget(self) -> None:
        """Drop per-session state (credentials, send signatures) before a relogin."""

    def close(self) -> None:
        """Release every connection (the client stopped)."""

    def abort(self) -> None:
        """Cut every in-flight request now (``stop()``); thread-safe."""

    def end_thread(self) -> None:
        """The calling worker thread is done with the backend (its connections may close)."""

    def describe(self) -> Dict[str, Any]:
        """Facts for ``get_client_info``: at least ``{"backend": name}``."""

    # -- contacts: merge what the service has into ``store``; None when the fetch failed --
    def load_user(self, store: "ContactStore") -> None: ...

    def load_friends(self, store: "ContactStore") -> Optional[List["Change"]]: ...

    def load_groups(self, store: "ContactStore") -> Optional[Tuple[List["Change"], List["Group"]]]: ...

    def load_discusses(self, store: "ContactStore") -> Optional[Tuple[List["Change"], List["Discuss"]]]: ...

    def load_group_members(self, store: "ContactStore", group: "Group", *,
                           ext: str = "always") -> List["Change"]:
        """Members of ``group``; ``ext`` "always", "new" (only for new members) or "never"."""

    def load_discuss_members(self, store: "ContactStore", discuss: "Discuss") -> List["Change"]: ...

    # -- receiving ---------------------------------------------------------------------
    def receive(self) -> Sequence[Event]:
        """Block for the next batch of events (an empty batch is an answer without news).

        :raises PollTimeout: held beyond the request timeout. :raises LoginExpired:
        :raises ProtocolError: a refused answer. :raises TransportError: the network.
        """

    def interrupt_receive(self) -> None:
        """Make a blocked ``receive`` return at once (raising an aborted TransportError)."""

    # -- sending and group admin ---------------------------------------------------------
    def send(self, msg: "Message") -> SendResult:
        """Send one message (its ``type``, ids and ``raw_content``); never raises."""

    def shutup(self, group: "Group", members: Sequence[Tuple["GroupMember", int]]) -> bool:
        """Mute members for the given seconds. :raises OpenQQError:"""

    def kick(self, group: "Group", members: Sequence["GroupMember"]) -> bool:
        """Remove members from the group. :raises OpenQQError:"""


BackendFactory = Callable[["Config"], Backend]

_lock = threading.Lock()
# name -> factory, or "module:attribute" imported on first use (a backend's dependencies
# are only needed by those who choose it).
_registry: Dict[str, Union[str, BackendFactory]] = {
    "smartqq": "openqq_sync.backends.smartqq:SmartQQBackend",
    "onebot": "openqq_sync.backends.onebot:OneBotBackend",
}


def register(name: str, factory: Union[str, BackendFactory]) -> None:
    """Make ``Config(backend=name)`` build its backend with ``factory(config)``."""
    with _lock:
        _registry[name] = factory


def names() -> List[str]:
    with _lock:
        return sorted(_registry)


def create(config: "Config", **kwargs: Any) -> Backend:
    """The backend ``config.backend`` names. :raises ValueError: unknown name."""
    with _lock:
        factory = _registry.get(config.backend)
    if factory is None:
        raise ValueError(f"unknown backend {config.backend!r} (known: {', '.join(names())})")
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    backend: Backend = factory(config, **kwargs)
    return backend
