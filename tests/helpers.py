"""The helpers every test folder shares (``pythonpath = tests`` makes this importable).

* :func:`eventually` — the one bounded polling helper (house style X2): returns the truthy
  value, or raises AssertionError when ``timeout`` passes.
* :func:`free_port` — a loopback port for a server that must be told its port up front
  (nginx, a sandbox started later on a known address); in-process servers bind port 0, and
  ``openqq run --port 0`` processes are found through :func:`logged_api_url`.
* :func:`logged_api_url` — the address an ``openqq run`` process logs once its API listens.
* :func:`leaked_threads` — threads of given name prefixes started since a snapshot and still
  alive after a grace period; the autouse checks in ``tests/conftest.py`` run it after every
  test and every module for the package's threads and the tests' own (:data:`OUR_THREADS`).
"""

from __future__ import annotations

import re
import socket
import subprocess
import threading
import time
from typing import Any, Callable, List, Set, Tuple

import requests

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


#: What ``openqq run`` logs at info once its API listens (the real port of ``--port 0``).
API_LISTENING = re.compile(r"Openqq API on (http://\S+?)/openqq/")


def logged_api_url(read_log: Callable[[], str], proc: "subprocess.Popen[Any]",
                   timeout: float = 30.0) -> str:
    """The API address (``http://127.0.0.1:PORT``) an ``openqq run --port 0 --log-level
    info`` process logged; ``read_log()`` returns its log so far. AssertionError if it exits
    first or says nothing within ``timeout``."""
    def listening() -> Any:
        found = API_LISTENING.search(read_log())
        if found:
            return found.group(1)
        assert proc.poll() is None, f"openqq run exited with {proc.returncode}: {read_log()}"
        return None
    return str(eventually(listening, timeout, interval=0.05))


def wait_running(proc: "subprocess.Popen[Any]", url: str, timeout: float = 30.0) -> None:
    """Wait until the ``openqq`` process ``proc`` serving ``url`` says ``running``;
    AssertionError (with its output) if it exits first or ``timeout`` passes."""
    def running() -> bool:
        try:
            state: str = requests.get(url + "/openqq/get_client_info", timeout=2).json()["state"]
            return state == "running"
        except requests.RequestException:
            assert proc.poll() is None, proc.communicate()
            return False
    eventually(running, timeout=timeout, interval=0.05)


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
