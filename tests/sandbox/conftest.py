from __future__ import annotations

import pytest

from ._smartqq import Walker


@pytest.fixture
def walker(sandbox):
    """A ``Walker`` logged into the ``sandbox`` by QR (prepare .. login2)."""
    return Walker(sandbox.url).qr_login()
