"""The poll2 loop and its retry policy (protocol doc 7.1-7.3, house style T6).

``PollLoop.run()`` polls until it must stop or relogin and says which:

* an answer (messages or not) or a read timeout: poll again at once;
* retcode 116: take the new ptwebqq (cookie too);
* ``LoginExpired`` (100, 103, 100000): relogin;
* ``NeedRelink`` (120, 121): relink with login2, relogin if that fails;
* a retcode in ``ignore_poll_retcode``: ignored; any other: counted, relogin after more
  than ``poll_failure_count_max`` in a row;
* network errors and HTTP errors, 502/504 included: back off exponentially (cap
  ``poll_retry_max_delay``, jitter) and retry; never a dead loop (the original stopped
  polling for good on 502/504, bug 5). They count as failures like unknown retcodes, and
  so does a read timeout (a poll held beyond ``ua_request_timeout``): more than
  ``poll_failure_count_max`` in a row relog in (issue 6);
* ``kick_message``: stop, with the reason logged.

Every wait is on the client's stop Event; an in-flight poll is aborted by ``stop()`` and
``request_relogin()`` through the transport, so neither waits for the poll hold.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Any, Callable, Optional

from ._receiver import Kicked
from ._state import ClientState
from .protocol import poll as poll_api
from .protocol.errors import LoginExpired, NeedRelink, OpenQQError, PollTimeout, ProtocolError, TransportError

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
        delay = min(self.cap, self.base * (2 ** self.failures))
        self.failures += 1
        # Up to 20 % less, so many clients do not retry in step.
        return delay * (1.0 - 0.2 * self._rand())

    def reset(self) -> None:
        self.failures = 0


class PollLoop:
    """One run of polling between two logins. Protocol thread only."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.backoff = Backoff(cap=float(client.config.poll_retry_max_delay))
        self.unknown_failures = 0

    def run(self) -> str:
        client = self._client
        while True:
            outcome = self.once()
            if outcome is not None:
                return outcome

    def _session(self) -> Any:
        client = self._client
        session = client._transport.thread_session()
        client._register_session(session)
        client._poll_session = session
        return session

    def once(self) -> Optional[str]:
        """One poll and its handling; returns STOP/RELOGIN to leave the loop, else None."""
        client = self._client
        config = client.config
        if client._stop_event.is_set():
            return STOP
        if client._relogin_event.is_set():
            return RELOGIN
        creds = client._creds
        try:
            result = poll_api.poll(client._transport, creds, session=self._session(),
                                   timeout=float(config.ua_request_timeout))
        except PollTimeout:
            self.backoff.reset()
            return self._count_failure("poll2 held beyond the request timeout")
        except LoginExpired as e:
            log.warning("session lost (retcode %s): relogin", e.retcode)
            return RELOGIN
        except NeedRelink as e:
            return self._relink(e)
        except ProtocolError as e:
            return self._bad_retcode(e.retcode)
        except TransportError as e:
            if e.aborted or client._stop_event.is_set() or client._relogin_event.is_set():
                return None  # stop()/request_relogin() cut the poll; the flags decide
            if self._count_failure(f"poll2 failed ({e})") == RELOGIN:
                return RELOGIN
            delay = self.backoff.next()
            log.info("poll2: retrying in %.1f s", delay)
            if client._stop_event.wait(delay):
                return STOP
            return None
        self.backoff.reset()
        retcode = getattr(result, "retcode", 0) or 0
        if retcode in config.ignore_poll_retcode:
            self.unknown_failures = 0
        elif retcode not in (0, 116):
            return self._bad_retcode(retcode)
        else:
            self.unknown_failures = 0
        if getattr(result, "ptwebqq", None):
            self._new_ptwebqq(result.ptwebqq)
        try:
            for item in result.items or ():
                client._receiver.handle(item)
        except Kicked as e:
            log.error("forced offline by the service: %s; stopping (no relogin)", e)
            client.error = f"kicked: {e}"
            return STOP
        client._set_state(ClientState.RUNNING)
        return None

    def _bad_retcode(self, retcode: Any) -> Optional[str]:
        if retcode in self._client.config.ignore_poll_retcode:
            self.unknown_failures = 0
            return None
        return self._count_failure(f"poll2 retcode {retcode}")

    def _count_failure(self, what: str) -> Optional[str]:
        self.unknown_failures += 1
        log.warning("%s (%d in a row)", what, self.unknown_failures)
        if self.unknown_failures > self._client.config.poll_failure_count_max:
            self.unknown_failures = 0
            log.warning("too many poll2 failures: relogin")
            return RELOGIN
        return None

    def _relink(self, error: OpenQQError) -> Optional[str]:
        client = self._client
        log.info("poll2 asks for a relink (%s)", error)
        try:
            creds = client._login.flow.relink(client._creds)
        except OpenQQError as e:
            log.warning("relink failed (%s): relogin", e)
            return RELOGIN
        client._publish_credentials(creds)
        client._save_cookies()
        return None

    def _new_ptwebqq(self, value: str) -> None:
        client = self._client
        creds = client._creds
        if creds is None or creds.ptwebqq == value:
            return
        client._transport.set_cookie("ptwebqq", value, "qq.com")
        client._publish_credentials(dataclasses.replace(creds, ptwebqq=value))
