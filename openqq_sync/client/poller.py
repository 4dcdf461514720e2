"""The receive loop and its retry policy (protocol doc 7.1-7.3, house style T6).

``PollLoop.run()`` asks the backend for events until it must stop or relogin and says which:

* a batch (events or none) or a read timeout: receive again at once;
* ``LoginExpired`` (SmartQQ: 100, 103, 100000, a failed relink): relogin;
* a refused answer (``ProtocolError``): counted, relogin after more than
  ``poll_failure_count_max`` in a row (the backend drops the codes it ignores);
* network errors and HTTP errors, 502/504 included: back off exponentially (cap
  ``poll_retry_max_delay``, jitter) and retry; never a dead loop (the original stopped
  polling for good on 502/504, bug 5). They count as failures like refused answers, and
  so does a read timeout (a poll held beyond ``ua_request_timeout``): more than
  ``poll_failure_count_max`` in a row relog in (issue 6);
* ``KickedEvent``: stop, with the reason logged.

Every wait is on the stop Event; a blocked receive is cut by ``stop()`` (backend.abort)
and ``request_relogin()`` (backend.interrupt_receive), so neither waits for the hold.
"""

from __future__ import annotations

import logging
import random
from typing import Callable, Optional

from ..errors import Kicked, LoginExpired, PollTimeout, ProtocolError, TransportError
from .receiver import Receiver
from .runtime import Runtime
from .state import ClientState

log = logging.getLogger(__name__)

STOP = "stop"
RELOGIN = "relogin"


class Backoff:
    """Exponential delays with a cap and jitter; ``reset()`` after a success."""

    def __init__(self, *, base: float = 1.0, cap: float = 30.0,
                 rand: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = cap
        self._rand = rand
        self.failures = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * (2.0 ** self.failures))
        self.failures += 1
        # Up to 20 % less, so many clients do not retry in step.
        return float(delay * (1.0 - 0.2 * self._rand()))

    def reset(self) -> None:
        self.failures = 0


class PollLoop:
    """One run of receiving between two logins. Protocol thread only."""

    def __init__(self, rt: Runtime, receiver: Receiver) -> None:
        self._rt = rt
        self._receiver = receiver
        self.backoff = Backoff(cap=rt.config.poll_retry_max_delay)
        self.unknown_failures = 0

    def run(self) -> str:
        while True:
            outcome = self.once()
            if outcome is not None:
                return outcome

    def once(self) -> Optional[str]:
        """One receive and its handling; returns STOP/RELOGIN to leave the loop, else None."""
        rt = self._rt
        if rt.stop.is_set():
            return STOP
        if rt.relogin.is_set():
            return RELOGIN
        try:
            events = rt.backend.receive()
        except PollTimeout:
            self.backoff.reset()
            return self._count_failure("receive held beyond the request timeout")
        except LoginExpired as e:
            log.warning("session lost (%s): relogin", e)
            return RELOGIN
        except ProtocolError as e:
            return self._count_failure(f"receive refused (retcode {e.retcode})")
        except TransportError as e:
            if e.aborted or rt.stop.is_set() or rt.relogin.is_set():
                return None  # stop()/request_relogin() cut the receive; the flags decide
            if self._count_failure(f"receive failed ({e})") == RELOGIN:
                return RELOGIN
            delay = self.backoff.next()
            log.info("receive: retrying in %.1f s", delay)
            if rt.stop.wait(delay):
                return STOP
            return None
        self.backoff.reset()
        self.unknown_failures = 0
        try:
            for event in events:
                self._receiver.handle(event)
        except Kicked as e:
            log.error("forced offline by the service: %s; stopping (no relogin)", e)
            rt.error = f"kicked: {e}"
            return STOP
        rt.set_state(ClientState.RUNNING)
        return None

    def _count_failure(self, what: str) -> Optional[str]:
        self.unknown_failures += 1
        log.warning("%s (%d in a row)", what, self.unknown_failures)
        if self.unknown_failures > self._rt.config.poll_failure_count_max:
            self.unknown_failures = 0
            log.warning("too many receive failures: relogin")
            return RELOGIN
        return None
