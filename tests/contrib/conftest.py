"""Contrib tests: the shared helpers in tests/webkit and the example scripts importable."""

import os
import sys

import pytest

_here = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(_here, os.pardir))
sys.path.insert(0, os.path.join(_here, os.pardir, os.pardir, "contrib", "examples"))


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test():
    import threading

    from webkit import leaked_threads

    before = set(threading.enumerate())
    yield
    assert leaked_threads(before) == []
