"""Fixtures of the OneBot backend tests."""

from __future__ import annotations

from typing import Any, List

import pytest
from onebot_fake import FakeOneBot


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
