"""Web-area fixtures: a live stack per module (``tests/stacks.py``)."""

import pytest

from stacks import LiveStack


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """Sandbox + Client + API + post_api receiver, shared by a module's tests (read-mostly)."""
    stack = LiveStack(str(tmp_path_factory.mktemp("live")))
    try:
        yield stack
    finally:
        stack.close()
