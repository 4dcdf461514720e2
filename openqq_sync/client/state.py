"""The client state machine's value: a Condition-guarded cell (house style T4).

States keep the original's names and spelling (protocol doc 5.14).
"""

from __future__ import annotations

import enum
import threading
from typing import Callable, Optional, Tuple


class ClientState(str, enum.Enum):
    INIT = "init"              # built, not started
    LOADING = "loading"        # started, preparing the login
    SCANING = "scaning"        # a QR code waits to be scanned (the original's spelling)
    CONFIRMING = "confirming"  # scanned, waiting for the phone to confirm
    UPDATING = "updating"      # logged in, loading contacts
    RUNNING = "running"        # polling for messages; sends accepted
    STOP = "stop"              # stopped for good


class StateCell:
    """Holds the current state; ``set`` reports whether it changed; waiters use ``wait_for``.

    Thread-safe. Only the protocol thread (and ``stop()``) call ``set``.
    """

    def __init__(self, initial: ClientState = ClientState.INIT) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._value = initial
        self._published = initial   # what waiters see: set by notify(), after the signal

    @property
    def value(self) -> ClientState:
        return self._value

    def set(self, new: ClientState, *, notify: bool = True) -> Optional[Tuple[ClientState, ClientState]]:
        """Move to ``new``; returns ``(old, new)`` if it changed, else None. ``stop`` is final.

        With ``notify=False`` waiters wake only at the next ``notify()``: the client first
        writes the state file and emits ``state_change``, so whoever waited for a state
        also sees its signal and file.
        """
        with self._cond:
            old = self._value
            if old == new or old == ClientState.STOP:
                return None
            self._value = new
            if notify:
                self._published = new
                self._cond.notify_all()
            return old, new

    def notify(self) -> None:
        with self._cond:
            self._published = self._value
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[ClientState], bool], timeout: Optional[float]) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self._published), timeout)
