"""poll_api heartbeat: runs while running, follows redirects only into its own /openqq/ API,
backs off on failure, and stops at once even while a request is held."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from openqq_sync import signals
from openqq_sync.delivery import Heartbeat
from openqq_sync.delivery.heartbeat import own_api_target
from stacks import Receiver, StubClient, eventually

BASE = "http://remote.example:8080/poll"


@pytest.mark.parametrize("location,own,expected", [
    ("http://127.0.0.1:5000/openqq/send_friend_message?id=1&content=hi", ("127.0.0.1", 5000),
     ("127.0.0.1", 5000, "/openqq/send_friend_message?id=1&content=hi")),
    ("http://localhost:5000/openqq/check_event", ("127.0.0.1", 5000), ("127.0.0.1", 5000, "/openqq/check_event")),
    ("http://127.0.0.1:5000/openqq/x", ("0.0.0.0", 5000), ("127.0.0.1", 5000, "/openqq/x")),
    ("http://10.0.0.5:5000/openqq/x", ("10.0.0.5", 5000), ("10.0.0.5", 5000, "/openqq/x")),
    ("http://127.0.0.1:5001/openqq/x", ("127.0.0.1", 5000), None),          # another port
    ("http://evil.example:5000/openqq/x", ("127.0.0.1", 5000), None),       # another host
    ("http://127.0.0.1:5000/openqq/x", ("10.0.0.5", 5000), None),           # not our address
    ("https://127.0.0.1:5000/openqq/x", ("127.0.0.1", 5000), None),         # another scheme
    ("http://127.0.0.1:5000/admin", ("127.0.0.1", 5000), None),             # outside /openqq/
    ("http://127.0.0.1:5000/openqq/../sandbox/x", ("127.0.0.1", 5000), None),
    ("http://u:p@127.0.0.1:5000/openqq/x", ("127.0.0.1", 5000), None),
    ("/openqq/x", ("127.0.0.1", 5000), None),                               # relative = the remote
    ("http://127.0.0.1:99999/openqq/x", ("127.0.0.1", 5000), None),
    # Only the very address bound: never the other loopback family, whatever listens there.
    ("http://[::1]:5000/openqq/x", ("127.0.0.1", 5000), None),
    ("http://127.0.0.1:5000/openqq/x", ("::1", 5000), None),
    ("http://[::1]:5000/openqq/x", ("0.0.0.0", 5000), None),
    ("http://localhost:5000/openqq/x", ("0.0.0.0", 5000), ("127.0.0.1", 5000, "/openqq/x")),
    ("http://localhost:5000/openqq/x", ("::1", 5000), ("::1", 5000, "/openqq/x")),
    ("http://[::1]:5000/openqq/x", ("::", 5000), ("::1", 5000, "/openqq/x")),
    ("http://localhost:5000/openqq/x", ("10.0.0.5", 5000), None),
    ("http://0.0.0.0:5000/openqq/x", ("0.0.0.0", 5000), None),
])
def test_redirect_target_rules(location, own, expected):
    assert own_api_target(location, BASE, *own) == expected


def _heartbeat(client, poll_url, own, **kw):
    kw.setdefault("interval", 0.01)
    hb = Heartbeat(client, poll_url, own_address=lambda: ("127.0.0.1", own.port), account="test", **kw)
    hb.start()
    return hb


def test_follows_a_redirect_into_its_own_api_with_the_token():
    client = StubClient(state="running")
    with Receiver() as own:
        location = f"http://127.0.0.1:{own.port}/openqq/send_friend_message?uid=1&content=%E4%BD%A0%E5%A5%BD"
        with Receiver(lambda req: (302, {"Location": location}, b"")) as remote:
            hb = _heartbeat(client, remote.url, own, token="tok")
            try:
                reqs = own.wait_for(lambda r: len(r) >= 1)
            finally:
                hb.stop()
    assert reqs[0].method == "GET"
    assert reqs[0].path == "/openqq/send_friend_message?uid=1&content=%E4%BD%A0%E5%A5%BD"
    assert reqs[0].headers["Authorization"] == "Bearer tok"


def test_refuses_redirects_elsewhere_and_keeps_polling(caplog):
    client = StubClient(state="running")
    with Receiver() as own, Receiver() as evil:
        location = f"http://127.0.0.1:{evil.port}/openqq/send_friend_message?uid=1&content=x"
        with Receiver(lambda req: (302, {"Location": location}, b"")) as remote:
            with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.heartbeat"):
                hb = _heartbeat(client, remote.url, own)
                try:
                    remote.wait_for(lambda r: len(r) >= 3)
                finally:
                    hb.stop()
        assert evil.requests == [] and own.requests == []
    assert "poll_api redirect refused" in caplog.text
    assert "content=x" not in caplog.text          # no query strings (tokens) in logs


def test_polls_only_while_running():
    client = StubClient(state="scaning")
    with Receiver() as own, Receiver() as remote:
        hb = _heartbeat(client, remote.url, own)
        try:
            # No Event exists for "did not call": give the loop a moment to misbehave.
            time.sleep(0.1)
            assert remote.requests == []
            client.state = "running"
            signals.state_change.send(client, old="scaning", new="running")
            remote.wait_for(lambda r: len(r) >= 2)
        finally:
            hb.stop()


def test_failures_back_off_and_never_stop_the_loop():
    client = StubClient(state="running")
    probe = Receiver()
    dead_url = probe.url
    probe.close()
    with Receiver() as own:
        hb = _heartbeat(client, dead_url, own, interval=0.005)
        try:
            eventually(lambda: hb.calls >= 3)
            assert hb.failures >= 2
        finally:
            hb.stop()
    hb.failures = 0
    assert hb.delay() == 0.005
    hb.failures = 3
    assert hb.delay() == 0.04
    hb.interval, hb.failures = 5.0, 10
    assert hb.delay() == 60.0


def test_stop_aborts_a_held_request():
    release, held = threading.Event(), threading.Event()
    client = StubClient(state="running")

    def hold(req):
        held.set()
        release.wait(10)
        return 200, {}, b""

    with Receiver() as own, Receiver(hold) as remote:
        hb = _heartbeat(client, remote.url, own)
        assert held.wait(5)
        started = time.monotonic()
        hb.stop(timeout=5)
        # Without the abort the thread would sit in the held GET for 10 s.
        assert time.monotonic() - started < 2 and not release.is_set()
        release.set()
