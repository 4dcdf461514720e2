"""Web-area fixtures: make the shared helpers in tests/webkit importable."""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test():
    import threading

    from webkit import leaked_threads

    before = set(threading.enumerate())
    yield
    assert leaked_threads(before) == []
