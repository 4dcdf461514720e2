"""Reliability fixtures: real Clients against real sandboxes over loopback, with signal
recorders; the web area's helpers (``tests/stacks.py``) for receivers and the live stack.

Every long scenario of issue 6 is shortened through Config (request timeouts, backoff caps,
retry windows); each test's docstring names the shortening.
"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

import pytest
from relkit import Recorder, fast_config

from openqq_sync.client import Client
from openqq_sync.sandbox import SandboxServer


@pytest.fixture
def make_sandbox():
    """``make_sandbox(**SandboxServer options)`` -> a started sandbox, stopped after the test."""
    made: List[SandboxServer] = []

    def make(**options: Any) -> SandboxServer:
        kw: Dict[str, Any] = dict(world="small", seed=1, host="127.0.0.1", port=0, auto_scan=0.05,
                                  auto_confirm=0.05, poll_hold=2.0, threads=16)
        kw.update(options)
        srv = SandboxServer(**kw).start()
        made.append(srv)
        return srv

    yield make
    for srv in reversed(made):
        srv.stop()


@pytest.fixture
def make_client(tmp_path):
    """``make_client(server_url, **config) -> (client, recorder)``, started; stopped after."""
    made: List[Tuple[Client, Recorder]] = []

    def make(server: str, **overrides: Any) -> Tuple[Client, Recorder]:
        client = Client(fast_config(str(tmp_path), server, **overrides))
        rec = Recorder(client)
        made.append((client, rec))
        client.start()
        return client, rec

    yield make
    for client, rec in reversed(made):
        client.stop(timeout=5.0)
        rec.close()
        assert client.join(5.0), "client threads still running"
