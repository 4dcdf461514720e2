"""The whole stack over OneBot: the sandbox's OneBot face, a Client with the onebot backend,
Delivery, the API on waitress and a post_api receiver, all on loopback port 0."""

from __future__ import annotations

import json
from typing import Any, Dict, Optional

import requests

from openqq_sync.config import Config
from openqq_sync.sandbox import SandboxServer
from stacks import ApiStack, Receiver


def start_sandbox(onebot_port: int = 0, **kw: Any) -> SandboxServer:
    # 1 s: the watchdog (2.5 intervals) must not fire on a loaded test machine's hiccups.
    kw.setdefault("onebot_heartbeat", 1000)
    return SandboxServer(world="small", seed=1, port=0, auto_scan=None, auto_confirm=None,
                         onebot_port=onebot_port, **kw).start()


class OneBotStack(ApiStack):
    """``stack.api(path, **params)`` calls the Openqq API; ``stack.control(verb, **body)``
    the sandbox; ``stack.posts(...)`` what post_api received."""

    def __init__(self, tmpdir: str, *, sandbox_kw: Optional[Dict[str, Any]] = None,
                 wait_state: Optional[str] = "running", **cfg: Any) -> None:
        self.sandbox = start_sandbox(**(sandbox_kw or {}))
        assert self.sandbox.onebot is not None
        self.onebot_port = self.sandbox.onebot.port
        self.http = requests.Session()
        self.http.trust_env = False
        self.receiver = Receiver()
        base: Dict[str, Any] = dict(
            backend="onebot", onebot_url=f"ws://127.0.0.1:{self.onebot_port}", tmpdir=tmpdir,
            account="ob", send_interval=0, show_qrcode=False, check_event_timeout=0.5, threads=24,
            poll_retry_max_delay=0.5, ua_connect_timeout=2.0, post_api=self.receiver.url,
            post_event_list=["login", "stop", "state_change", "new_group", "new_friend", "new_group_member",
                             "lose_group", "lose_friend", "lose_group_member", "group_member_property_change",
                             "group_property_change", "friend_property_change"],
            show_message=False)
        base.update(cfg)
        self._serve(Config(**base), wait_state)
        self.world = self.sandbox.world.snapshot()

    # -- the API and the sandbox ---------------------------------------------------------
    def api(self, path: str, **params: Any) -> Any:
        r = self.http.get(self.url + "/openqq/" + path, params=params, timeout=30)
        return r.json()

    def control(self, path: str, **body: Any) -> Any:
        r = self.http.post(self.sandbox.url + "/sandbox/" + path, data=json.dumps(body), timeout=10,
                           headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        return r.json()

    def sandbox_get(self, path: str) -> Any:
        r = self.http.get(self.sandbox.url + "/sandbox/" + path, timeout=10)
        r.raise_for_status()
        return r.json()

    # -- what was reported ------------------------------------------------------------------
    def wait_post(self, pred: Any, timeout: float = 10.0) -> Any:
        found = self.receiver.wait_for(lambda reqs: any(pred(r.json()) for r in reqs), timeout)
        return next(r.json() for r in found if pred(r.json()))

    # -- world lookups ----------------------------------------------------------------------
    def group(self, role: str) -> Dict[str, Any]:
        return next(g for g in self.world["groups"] if g["role"] == role)
