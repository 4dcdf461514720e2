from __future__ import annotations

import pytest

from ._smartqq import Walker


@pytest.fixture
def walker(sandbox):
    """A ``Walker`` logged into the ``sandbox`` by QR (prepare .. login2)."""
    return Walker(sandbox.url).qr_login()


@pytest.fixture(autouse=True)
def _no_sandbox_threads_left():
    """Every sandbox thread (HTTP loop, workers, chatter) is gone after each test."""
    import threading
    import time

    yield
    deadline = time.monotonic() + 5
    while True:
        left = [t.name for t in threading.enumerate() if t.name.startswith(("openqq-sandbox", "waitress"))]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not left, "threads outlived the test: %s" % left
