"""Ecosystem fixtures: a demo-like stack whose QR code stays up until the test scans it."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir))

from ecokit import ManualStack  # noqa: E402


@pytest.fixture(scope="module")
def manual_stack(tmp_path_factory):
    """Sandbox with manual scan + real Client + API, left in state ``scaning``."""
    stack = ManualStack(str(tmp_path_factory.mktemp("eco")))
    try:
        yield stack
    finally:
        stack.close()
