"""Helpers for the ecosystem tests: a stack that waits for a manual QR scan, free ports."""

from __future__ import annotations

import socket
import threading
from typing import Any, Dict

from openqq_sync.client import Client
from openqq_sync.config import Config
from openqq_sync.delivery import Delivery
from openqq_sync.sandbox import SandboxServer
from openqq_sync.web import ApiServer, create_app


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManualStack:
    """Sandbox (manual scan and confirm) + Client + Delivery + API on loopback port 0.

    Returns with the client in ``scaning``, the QR code up; :meth:`login` scans, confirms and
    waits for ``running``. With ``auto_login`` the phone scans at once and it returns running.
    """

    def __init__(self, tmpdir: str, *, auto_login: bool = False, **cfg: Any) -> None:
        phone = 0.05 if auto_login else None
        self.sandbox = SandboxServer(world="small", seed=1, host="127.0.0.1", port=0,
                                     auto_scan=phone, auto_confirm=phone, poll_hold=2.0).start()
        base: Dict[str, Any] = dict(server=self.sandbox.url, tmpdir=tmpdir, send_interval=0,
                                    qrcode_poll_interval=0.05, show_qrcode=False, show_message=False,
                                    check_event_timeout=2.0, threads=24, account="demo")
        base.update(cfg)
        self.config = Config(**base)
        self.client = Client(self.config)
        self.delivery = Delivery(self.client, self.config).start()
        self.stopped = threading.Event()
        self.app = create_app(self.client, self.config, delivery=self.delivery,
                              on_stop=self.stopped.set, _stop_delay=0.05)
        self.server = ApiServer(self.app, host="127.0.0.1", port=0, threads=self.config.threads,
                                name="test-openqq-http").start()
        self.url = self.server.url
        self.client.start()
        want = "running" if auto_login else "scaning"
        if not self.client.wait_for_state(want, 20):
            self.close()
            raise AssertionError(f"client did not reach {want}: {self.client.state}")

    def login(self) -> None:
        if self.client.state == "running":
            return
        self.sandbox.world.scan()
        self.sandbox.world.confirm()
        if not self.client.wait_for_state("running", 20):
            raise AssertionError(f"client did not reach running: {self.client.state}")

    def snapshot(self) -> Dict[str, Any]:
        return self.sandbox.world.snapshot()

    def friend(self, index: int = 0) -> Dict[str, Any]:
        return self.snapshot()["friends"][index]

    def close(self) -> None:
        self.client.stop()
        self.delivery.stop(1.0)
        self.server.stop()
        self.sandbox.stop()
