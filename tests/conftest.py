"""Shared fixtures. The sandbox area owns ``sandbox``; other areas add theirs in
``tests/<area>/conftest.py``. One autouse check, per test and per module: no thread of ours
outlives what started it."""

from __future__ import annotations

import threading

import pytest

from helpers import leaked_threads
from openqq_sync.sandbox import SandboxServer


def pytest_configure(config):
    config.addinivalue_line("markers", "restarts_module_threads: the test restarts a thread of a "
                            "module-scoped fixture, which then outlives the test; only the "
                            "per-module leak check applies")


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


@pytest.fixture(autouse=True, scope="module")
def no_leaked_threads_per_module():
    """Fail a module whose module-scoped fixtures (a live stack, a bot) leave a thread of
    ours running; set up before them, so torn down after them."""
    before = set(threading.enumerate())
    yield
    leaked = leaked_threads(before, grace=5.0)
    assert leaked == [], f"threads still running after the module: {leaked}"


@pytest.fixture(autouse=True)
def no_leaked_threads(request):
    """Fail a test that leaves a thread of ours running: a client, sandbox, API server,
    delivery or test receiver thread (fixtures, torn down before this check, stop what they
    started; module-scoped fixtures started theirs before it looked)."""
    before = set(threading.enumerate())
    yield
    if request.node.get_closest_marker("restarts_module_threads") is not None:
        return
    leaked = leaked_threads(before, grace=5.0)
    assert leaked == [], f"threads still running after the test: {leaked}"
