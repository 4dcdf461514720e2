"""Owned, named threads run through a crash wrapper (house style T1).

``spawn()`` starts a daemon thread named ``openqq-<account>-<role>`` whose target runs
inside a wrapper that logs start and end, logs a crash with its traceback and then calls
``on_crash`` (the client stops itself). ``spawn`` returns once the target has called
``ready.set()`` (or has ended), so callers know the thread is up.

Signal emission with isolated receivers (house style E2) lives here too: blinker runs
receivers on the emitting thread, and one that raises must not break the poll loop nor
skip the others.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Optional

log = logging.getLogger(__name__)


def thread_name(account: str, role: str) -> str:
    return f"openqq-{account}-{role}"


def spawn(account: str, role: str, target: Callable[[threading.Event], None], *,
          on_crash: Optional[Callable[[BaseException], None]] = None,
          ready_timeout: float = 5.0) -> threading.Thread:
    """Start ``target(ready)`` on a named thread; wait until it sets ``ready`` or ends.

    :param target: the thread body; it must set the Event it receives once it is running.
    :param on_crash: called (on the dying thread) with the exception that escaped ``target``.
    """
    ready = threading.Event()
    name = thread_name(account, role)

    def wrapper() -> None:
        log.debug("thread %s started", name)
        try:
            target(ready)
        except BaseException as e:  # the wrapper is the thread's last line of defence
            log.exception("thread %s crashed", name)
            if on_crash is not None:
                try:
                    on_crash(e)
                except Exception:
                    log.exception("crash handler of %s failed", name)
        finally:
            ready.set()
            log.debug("thread %s ended", name)

    thread = threading.Thread(target=wrapper, name=name, daemon=True)
    thread.start()
    if not ready.wait(ready_timeout):
        log.warning("thread %s did not report ready within %.1f s", name, ready_timeout)
    return thread


def join_all(threads: "list[threading.Thread]", deadline: float, clock: Callable[[], float]) -> "list[str]":
    """Join each thread until ``deadline`` (a ``clock()`` value); return names still alive."""
    alive = []
    current = threading.current_thread()
    for thread in threads:
        if thread is current or not thread.is_alive():
            continue
        thread.join(max(0.0, deadline - clock()))
        if thread.is_alive():
            alive.append(thread.name)
    return alive


def emit(signal: Any, sender: Any, **kwargs: Any) -> None:
    """Send ``signal`` to each receiver for ``sender``; a raising receiver is logged, not fatal."""
    if not signal.receivers:
        return
    for receiver in signal.receivers_for(sender):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception("receiver %r of signal %s failed", receiver, signal.name)
