"""The helpers every test folder shares (``pythonpath = tests`` makes this importable).

* :func:`eventually` — the one bounded polling helper (house style X2): returns the truthy
  value, or raises AssertionError when ``timeout`` passes.
* :func:`free_port` — a loopback port for a server that must be told its port up front
  (a subprocess); in-process servers bind port 0 instead.
* :func:`leaked_threads` — threads of given name prefixes started since a snapshot and still
  alive after a grace period; the autouse checks in ``tests/conftest.py`` run it after every
  test and every module for the package's threads and the tests' own (:data:`OUR_THREADS`).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, List, Set, Tuple

#: Our threads: the package's (clients, sandboxes, API servers, delivery, waitress workers)
#: and the tests' own (receivers, pollers, emitters: named ``test-*``).
OUR_THREADS = ("openqq-", "waitress", "test-")


def eventually(pred: Callable[[], Any], timeout: float = 5.0, interval: float = 0.01) -> Any:
    """Poll ``pred`` until it is truthy (returned) or ``timeout`` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def leaked_threads(before: Set[threading.Thread], grace: float = 3.0,
                   prefixes: Tuple[str, ...] = OUR_THREADS) -> List[str]:
    """Names of threads named ``prefixes*`` started since ``before`` and alive after
    ``grace`` seconds of joining (house style X2: no thread outlives its test)."""
    deadline = time.monotonic() + grace
    leaked = []
    for t in threading.enumerate():
        if t in before or not t.name.startswith(prefixes) or t is threading.current_thread():
            continue
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            leaked.append(t.name)
    return leaked
