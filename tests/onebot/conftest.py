"""Fixtures of the OneBot backend tests."""

from __future__ import annotations

import os
import sys
from typing import Any, List

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from onebot_fake import FakeOneBot  # noqa: E402


@pytest.fixture
def fake_onebot():
    """``fake_onebot(**kw) -> FakeOneBot``, started; all stopped after the test."""
    made: List[FakeOneBot] = []

    def make(**kw: Any) -> FakeOneBot:
        server = FakeOneBot(**kw)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()
