"""Helpers for the ecosystem tests: a stack that waits for a manual QR scan."""

from __future__ import annotations

from typing import Any, Dict

from stacks import LiveStack


class ManualStack(LiveStack):
    """The web tests' live stack with a sandbox whose phone waits for the test.

    Returns with the client in ``scaning``, the QR code up; :meth:`login` scans, confirms and
    waits for ``running``. With ``auto_login`` the phone scans at once and it returns running.
    """

    def __init__(self, tmpdir: str, *, auto_login: bool = False, **cfg: Any) -> None:
        phone = 0.05 if auto_login else None
        base: Dict[str, Any] = dict(show_message=False, check_event_timeout=2.0, account="demo")
        base.update(cfg)
        super().__init__(tmpdir, receiver=False, sandbox_kw=dict(auto_scan=phone, auto_confirm=phone),
                         wait_state="running" if auto_login else "scaning", **base)

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
