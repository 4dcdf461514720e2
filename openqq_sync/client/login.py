"""The protocol thread's session loop: log in, load the contacts, receive, relogin.

The relogin policy of the core, whatever the backend (protocol doc 5.2, 5.16, issue 6):

* a first login that fails stops the client (the original did); a relogin that fails on
  the network or a refused answer is retried with a capped backoff (an unattended bot must
  not stop on a hiccup); a verdict (QR expired too often) stops;
* a contact load that fails leads to a relogin after a backoff, without logging out;
* a lost session relogs in with the saved session first; only a requested relogin
  (``request_relogin``) logs out.

Runs on the ``poll`` thread, the only writer of the client's state.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from .. import signals
from ..errors import LoginFailed, LoginStopped, OpenQQError, ProtocolError, TransportError
from .loader import Loader
from .poller import RELOGIN, Backoff, PollLoop
from .receiver import Receiver
from .runtime import Runtime
from .state import ClientState

log = logging.getLogger(__name__)

__all__ = ["SessionLoop"]

Spawn = Callable[[str, Callable[[threading.Event], None]], threading.Thread]


def _network_failure(error: BaseException) -> bool:
    """True when ``error`` (or what caused it) is the network or a failed answer of the
    service (both may pass), not a verdict such as a QR code expired too often."""
    cause: Optional[BaseException] = error
    while cause is not None:
        if isinstance(cause, (TransportError, ProtocolError)):
            return True
        cause = cause.__cause__
    return False


class SessionLoop:
    """The ``poll`` thread's body (``run``) and the relogin steps.

    :param spawn: starts a named client thread (the background member loader).
    :param finished: called on this thread when the loop ends (the client stops itself).
    """

    def __init__(self, rt: Runtime, loader: Loader, receiver: Receiver, spawn: Spawn,
                 finished: Callable[[], None]) -> None:
        self._rt = rt
        self._loader = loader
        self._receiver = receiver
        self._spawn = spawn
        self._finished = finished
        self.log = rt.log

    def run(self, ready: threading.Event) -> None:
        ready.set()
        rt = self._rt
        backend = rt.backend
        rt.set_state(ClientState.LOADING)
        relogin = False
        # Between failed attempts of a relogin or a contact load: never a tight loop.
        cap = 2.0 * rt.config.poll_retry_max_delay
        backoff = Backoff(base=min(1.0, cap), cap=cap)
        while not rt.stop.is_set():
            rt.relogin.clear()
            try:
                result = backend.login(rt)
            except LoginStopped:
                break
            except (LoginFailed, OpenQQError) as e:
                if rt.stop.is_set():
                    break
                if relogin and _network_failure(e):
                    # The service is unreachable or refusing for a moment: keep trying,
                    # the session was good before (an unattended bot must not stop on a
                    # hiccup). A first login that fails stops (original).
                    delay = backoff.next()
                    self.log.warning("relogin failed (%s); retrying in %.0f s", e, delay)
                    if rt.stop.wait(delay):
                        break
                    continue
                rt.error = f"login failed: {e}"
                self.log.error("login failed: %s; stopping", e)
                break
            rt.login_count += 1
            rt.set_online(True)
            backend.save()
            rt.set_state(ClientState.UPDATING)
            rt.members_ready.clear()
            background = rt.config.member_load == "background"
            try:
                self._loader.load_initial(members=not background)
            except OpenQQError as e:
                if rt.stop.is_set():
                    break
                delay = backoff.next()
                self.log.warning("loading contacts failed (%s): relogin in %.0f s", e, delay)
                relogin = True
                self._begin_relogin(logout=False)
                if rt.stop.wait(delay):
                    break
                continue
            if rt.stop.is_set():
                break
            backoff.reset()
            rt.emit(signals.login, is_scan=result.is_scan)
            if relogin:
                rt.emit(signals.relogin)
            rt.set_state(ClientState.RUNNING)
            if background:
                self._spawn("member-loader", self._load_members)
            else:
                rt.members_ready.set()
            outcome = PollLoop(rt, self._receiver).run()
            if outcome != RELOGIN or rt.stop.is_set():
                break
            relogin = True
            # Only a requested relogin logs out: after a lost session the saved login
            # (supertoken) is still good, and logging out would kill it and force a new
            # QR scan on an unattended bot (issue 6: relogin with the saved cookies).
            self._begin_relogin(logout=rt.relogin.is_set() and rt.relogin_logout)
        self._finished()

    def _load_members(self, ready: threading.Event) -> None:
        ready.set()
        try:
            changes = self._loader.load_members()
        except OpenQQError as e:
            # A relogin or stop came first; the next login loads them again.
            self.log.info("background member load ended early: %s", e)
            return
        self._rt.emit_changes(changes)
        if not self._rt.stop.is_set():
            self._rt.members_ready.set()

    def _begin_relogin(self, logout: bool = True) -> None:
        """Leave the session (5.16): logout (if asked), forget credentials, reset the
        per-session state."""
        self.log.info("relogin: %s, then in again (saved session first)",
                      "logging out" if logout else "session lost")
        self._rt.set_online(False)
        if logout:
            self._rt.backend.logout()
        self._rt.backend.save()
        self._rt.backend.forget()
