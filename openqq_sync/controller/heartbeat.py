"""The controller's own heartbeat: a GET of ``poll_api`` every ``poll_interval`` seconds.

As the original's controller: the answer is not read (each client's own ``poll_api``, given
to start_client, is the one that can drive its API).
"""

from __future__ import annotations

import logging
import threading
from typing import Optional

import requests

log = logging.getLogger(__name__)


class ControllerHeartbeat:
    def __init__(self, url: str, interval: float = 5.0, timeout: float = 10.0) -> None:
        self.url = url
        self.interval = max(0.1, interval)
        self.timeout = timeout
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "ControllerHeartbeat":
        self._thread = threading.Thread(target=self._run, name="openqq-controller-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        with requests.Session() as session:
            while not self._stop.is_set():
                try:
                    session.get(self.url, timeout=self.timeout, allow_redirects=False).close()
                except requests.RequestException as e:
                    log.debug("controller: poll_api %s: %s", self.url, e)
                self._stop.wait(self.interval)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("controller: heartbeat thread still running")
