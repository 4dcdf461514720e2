"""Web-area fixtures: the shared helpers in tests/webkit, and a live stack per module."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from webkit import LiveStack  # noqa: E402


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Sandbox + Client + API + post_api receiver, shared by a module's tests (read-mostly)."""
    stack = LiveStack(str(tmp_path_factory.mktemp("live")))
    try:
        yield stack
    finally:
        stack.close()


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test():
    import threading

    from webkit import leaked_threads

    before = set(threading.enumerate())
    yield
    assert leaked_threads(before) == []
