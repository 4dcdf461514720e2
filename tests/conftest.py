"""Shared fixtures. The sandbox area owns ``sandbox``; other areas add theirs in
``tests/<area>/conftest.py``."""

from __future__ import annotations

import pytest

from openqq_sync.sandbox import SandboxServer


@pytest.fixture
def sandbox():
    """A started ``SandboxServer``: small world, seed 1, QR scanned and confirmed 0.05 s
    after it is shown, poll2 held 2 s. Stopped after the test."""
    srv = SandboxServer(world="small", seed=1, host="127.0.0.1", port=0,
                        auto_scan=0.05, auto_confirm=0.05, poll_hold=2.0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
