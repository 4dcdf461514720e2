"""Ecosystem fixtures: a demo-like stack whose QR code stays up until the test scans it."""

import pytest
from ecokit import ManualStack


@pytest.fixture(scope="module")
def manual_stack(tmp_path_factory):
    """Sandbox with manual scan + real Client + API, left in state ``scaning``."""
    stack = ManualStack(str(tmp_path_factory.mktemp("eco")))
    try:
        yield stack
    finally:
        stack.close()
