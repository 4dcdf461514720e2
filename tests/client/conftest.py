"""Fixtures of the client tests: clients against the sandbox."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest
from client_helpers import SignalRecorder, fast_config

from openqq_sync.client import Client


@pytest.fixture
def make_client(tmp_path):
    """``make_client(server_url, **config) -> (client, recorder)``, started; all stopped after."""
    made: List[Tuple[Client, SignalRecorder]] = []

    def make(server: str, *, start: bool = True, **overrides: Any) -> Tuple[Client, SignalRecorder]:
        client = Client(fast_config(tmp_path, server, **overrides))
        recorder = SignalRecorder(client)
        made.append((client, recorder))
        if start:
            client.start()
        return client, recorder

    yield make
    for client, recorder in reversed(made):
        client.stop(timeout=5.0)
        recorder.close()


@pytest.fixture
def running_client(sandbox, make_client):
    """A client logged into the ``sandbox`` fixture and in state ``running``."""
    client, recorder = make_client(sandbox.url)
    assert client.wait_for_state("running", 20), f"state {client.state}, error {client.error}"
    return client, recorder


@pytest.fixture
def make_sandbox():
    """``make_sandbox(**SandboxServer options)`` -> a started sandbox, stopped after the test."""
    from openqq_sync.sandbox import SandboxServer

    servers: List[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("auto_scan", 0.05)
        options.setdefault("auto_confirm", 0.05)
        options.setdefault("poll_hold", 2.0)
        options.setdefault("threads", 16)
        srv = SandboxServer(**options).start()
        servers.append(srv)
        return srv

    yield make
    for srv in reversed(servers):
        srv.stop()
