"""Controller fixtures: a two-account sandbox and a post_api receiver (module scope)."""

from __future__ import annotations

import pytest

from openqq_sync.sandbox.accounts import MultiSandbox
from stacks import Receiver


@pytest.fixture(scope="module")
def sandbox2():
    srv = MultiSandbox(2, world="small", seed=7, port=0, auto_scan=0.05, auto_confirm=0.05, poll_hold=2.0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def receiver():
    r = Receiver()
    try:
        yield r
    finally:
        r.close()
