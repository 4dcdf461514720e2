from __future__ import annotations

import json
import threading
from typing import Any, Callable

import pytest
import requests

from openqq_sync.sandbox import SandboxServer


class Control:
    """The sandbox's control API over HTTP (no proxies from the environment)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = requests.Session()
        self.http.trust_env = False

    def get(self, path: str) -> Any:
        r = self.http.get(self.url + path, timeout=5)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, **body: Any) -> Any:
        r = self.http.post(self.url + path, data=json.dumps(body), timeout=5,
                           headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        return r.json()


class Inbox:
    """Items arriving from a reader thread; ``wait`` blocks on a Condition until one matches."""

    def __init__(self) -> None:
        self.items: list = []
        self.cond = threading.Condition()

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait(self, pred: Callable[[Any], bool], timeout: float = 10.0) -> Any:
        found: list = []

        def match() -> bool:
            found[:] = [i for i in self.items if pred(i)]
            return bool(found)
        with self.cond:
            assert self.cond.wait_for(match, timeout), "nothing matched; got %s" % self.items[-10:]
            return found[0]

    def seen(self, pred: Callable[[Any], bool]) -> list:
        with self.cond:
            return [i for i in self.items if pred(i)]


def start_sandbox(**onebot: Any) -> SandboxServer:
    onebot.setdefault("onebot_heartbeat", 200)
    return SandboxServer(world="small", seed=1, port=0, auto_scan=None, auto_confirm=None, **onebot).start()


@pytest.fixture
def sandbox_ob():
    srv = start_sandbox(onebot_port=0, onebot_http_port=0)
    try:
        yield srv
    finally:
        srv.stop()

