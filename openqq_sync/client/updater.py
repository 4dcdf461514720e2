"""The updater thread: a contact refresh every ``update_interval`` seconds (6.11).

``while not wake.wait(interval)``-style: the wait ends early for ``stop()`` and for
``request()``, which tests and the API use to refresh now and wait for the result.
Changes are emitted on this thread. A refresh that finds the session expired asks the
client for a relogin instead of doing it.
"""

from __future__ import annotations

import logging
import threading
from ..errors import LoginExpired, OpenQQError
from .loader import Loader
from .runtime import Runtime
from .state import ClientState

log = logging.getLogger(__name__)


class Updater:
    """Owns the refresh schedule; ``run`` is the thread body."""

    def __init__(self, rt: Runtime, loader: Loader) -> None:
        self._rt = rt
        self._loader = loader
        self._wake = threading.Event()
        self._cond = threading.Condition()
        self._done = 0        # completed refresh cycles
        self._busy = False

    def wake(self) -> None:
        self._wake.set()

    def request(self, timeout: float) -> bool:
        """Refresh now; True once a refresh that started after this call has finished."""
        with self._cond:
            target = self._done + (2 if self._busy else 1)
            self._wake.set()
            return self._cond.wait_for(
                lambda: self._done >= target or self._rt.stop.is_set(), timeout
            ) and self._done >= target

    def run(self, ready: threading.Event) -> None:
        rt = self._rt
        ready.set()
        while True:
            self._wake.wait(max(0.01, rt.config.update_interval))
            if rt.stop.is_set():
                break
            with self._cond:
                self._wake.clear()
                self._busy = True
            try:
                self._refresh_once()
            finally:
                with self._cond:
                    self._busy = False
                    self._done += 1
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _refresh_once(self) -> None:
        """One refresh cycle (also callable synchronously in tests)."""
        rt = self._rt
        if rt.state != ClientState.RUNNING:
            log.debug("skipping the contact refresh: state %s", rt.state.value)
            return
        try:
            changes = self._loader.refresh()
        except LoginExpired:
            log.warning("contact refresh: session expired, asking for a relogin")
            rt.request_relogin(logout=True)
            return
        except OpenQQError as e:
            log.warning("contact refresh failed: %s", e)
            return
        except Exception:
            # An answer of a shape the store cannot merge must not end the updater (and
            # with it the client); the next refresh tries again.
            log.exception("contact refresh failed unexpectedly")
            return
        if changes:
            log.info("contact refresh: %d change(s)", len(changes))
        rt.emit_changes(changes)
