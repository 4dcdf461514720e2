"""Faults of poll2 against the sandbox's fault controls, with a real Client over loopback.

Shortened through Config: ``poll_retry_max_delay`` 0.2 s (backoff cap), 2 attempts per
request, ``ua_request_timeout`` 0.8 s against a 0.3 s poll hold where a hang (1-1.5 s)
must outlast the request timeout. Already covered elsewhere (and not repeated here): a single 502/504/500
(tests/client/test_resilience.py::test_poll_502_504_and_network_errors_back_off_and_recover),
relink that succeeds on 121 (::test_relink_on_retcode_121), ignored retcodes
(::test_ignored_and_unknown_poll_retcodes).
"""

from __future__ import annotations

import pytest
from relkit import client_threads, friend_uid, protocol_thread_alive



def _login_after(rec, n):
    """The ``login`` signal of the (n+1)-th login."""
    return rec.wait("login", after=n, timeout=20)


def _message_arrives(srv, rec, text):
    srv.world.inject_message("friend_message", friend_uid(srv), text)
    return rec.wait("receive_message", lambda kw: kw["msg"].content == text)


@pytest.mark.parametrize("faults", [
    pytest.param([("poll2", 1, 103)], id="103"),
    pytest.param([("poll2", 1, 100)], id="100"),
    pytest.param([("poll2", 1, 100000)], id="100000"),
    # 121 asks for a relink (login2 on the same session); when that fails too: relogin.
    pytest.param([("poll2", 1, 121), ("login2", 1, 103)], id="121-relink-refused"),
    # Unknown retcodes: the 4th in a row exceeds poll_failure_count_max (3).
    pytest.param([("poll2", 4, 100001)], id="100001x4"),
])
def test_lost_session_relogs_in_with_saved_cookies(make_sandbox, make_client, faults):
    srv = make_sandbox()
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20), client.error
    assert srv.world.wait_for_polls(1, 5)
    qrcodes = rec.count("input_qrcode")
    for endpoint, count, retcode in faults:
        srv.world.add_fault(endpoint, count=count, retcode=retcode)
    srv.world.inject_message("friend_message", friend_uid(srv), "wake")   # answer the held poll
    assert _login_after(rec, 1)["is_scan"] == 0          # login(0): the saved cookies
    rec.wait("relogin")
    assert client.wait_for_state("running", 20), client.error
    assert rec.count("input_qrcode") == qrcodes          # no QR code was shown
    assert _message_arrives(srv, rec, f"after {faults[0][2]}")
    assert client.error is None and protocol_thread_alive(client)


def test_expired_cookies_lead_to_a_fresh_qr_login(make_sandbox, make_client):
    """The grant dies in the sandbox (session, cookies and supertoken): the quick restore is
    refused, so the relogin shows a new QR code (``input_qrcode``) and logs in by scan."""
    srv = make_sandbox()
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20)
    qrcodes = rec.count("input_qrcode")
    assert srv.world.expire_session()
    assert _login_after(rec, 1)["is_scan"] == 1
    assert rec.count("input_qrcode") == qrcodes + 1
    assert rec.of("input_qrcode")[-1]["data"].startswith(b"\x89PNG")
    assert client.wait_for_state("running", 20)
    assert _message_arrives(srv, rec, "after expiry")


@pytest.mark.parametrize("faults", [
    pytest.param([{"status": 502}, {"status": 504}], id="502-504"),
    pytest.param([{"hang": 1.5}], id="hang-over-request-timeout"),
])
def test_repeated_poll_failures_back_off_then_relogin(make_sandbox, make_client, faults):
    """Three failures in a row are retried (shown with 502/504; the count is the same for
    every failure); the fourth (more than poll_failure_count_max) relogs in. A hang of 1.5 s
    outlasts the 0.8 s request timeout (poll hold 0.3 s)."""
    srv = make_sandbox(poll_hold=0.3)
    client, rec = make_client(srv.url, ua_request_timeout=0.8)
    assert client.wait_for_state("running", 20)
    if "status" in faults[0]:
        for n in range(3):
            srv.world.add_fault("poll2", count=1, **faults[n % len(faults)])
        assert _message_arrives(srv, rec, "after three")
        assert rec.count("relogin") == 0 and rec.count("login") == 1
    for n in range(4):
        srv.world.add_fault("poll2", count=1, **faults[n % len(faults)])
    rec.wait("relogin", timeout=30)
    assert client.wait_for_state("running", 20)
    assert [kw["is_scan"] for kw in rec.of("login")] == [1, 0]
    assert _message_arrives(srv, rec, "after four")
    assert client.error is None and protocol_thread_alive(client)


def test_sandbox_stopped_and_started_on_the_same_port_recovers_by_itself(make_sandbox, make_client):
    """Connection refused while the sandbox is down: backoff, then relogin attempts that keep
    retrying; a new sandbox on the same port (a fresh world: the old cookies mean nothing)
    gets a QR login and the client is running again without any help."""
    srv = make_sandbox()
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20)
    port = srv.port
    srv.stop()
    # Relogin after the fourth failure; it fails on the network and keeps retrying.
    rec.wait("state_change", lambda kw: kw["new"] != "running", timeout=20)
    assert protocol_thread_alive(client) and client.error is None
    srv2 = make_sandbox(port=port)
    assert srv2.url == srv.url
    rec.wait("relogin", timeout=30)
    assert client.wait_for_state("running", 20), client.error
    assert rec.of("login")[-1]["is_scan"] == 1
    assert _message_arrives(srv2, rec, "after restart")


def test_protocol_thread_survives_a_fault_storm(make_sandbox, make_client):
    """Every kind of poll2 fault mixed, with a relogin among them: the client is running at
    the end, still receives, and runs the same threads as before (nothing leaked)."""
    srv = make_sandbox(poll_hold=0.3)
    client, rec = make_client(srv.url, ua_request_timeout=0.8)
    assert client.wait_for_state("running", 20)
    before = client_threads(client)
    for kw in ({"status": 502}, {"retcode": 100001}, {"status": 500}, {"retcode": 102},
               {"hang": 1.0}, {"status": 504}, {"retcode": 103}, {"retcode": 121}, {"status": 404}):
        srv.world.add_fault("poll2", count=1, **kw)
    rec.wait("relogin", timeout=30)
    assert client.wait_for_state("running", 20)
    assert _message_arrives(srv, rec, "after storm")
    assert client.error is None and protocol_thread_alive(client)
    assert client_threads(client) == before, "threads leaked across the relogin"


def test_repeated_send_refusals_relogin_with_saved_cookies(make_sandbox, make_client):
    """The friend left (the service refuses sends to it: -3 发送异常); at the 5th consecutive
    -3 (``send_failure_count_max``) the sender asks for a relogin, which keeps the saved login
    (login(0), no QR) and receiving goes on."""
    srv = make_sandbox()
    client, rec = make_client(srv.url, msg_ttl=1)
    assert client.wait_for_state("running", 20)
    gone = client.contacts.friends()[1]
    srv.world.remove_friend(gone.uid)
    qrcodes = rec.count("input_qrcode")
    for n in range(5):
        assert client.send_friend_message(gone, f"hello {n}").wait(10).code == -3
    assert _login_after(rec, 1)["is_scan"] == 0
    assert client.wait_for_state("running", 20)
    assert rec.count("input_qrcode") == qrcodes
    assert _message_arrives(srv, rec, "after refusals")


def test_a_relogin_refused_by_the_service_for_a_while_keeps_trying(make_sandbox, make_client):
    """The session is lost and getvfwebqq then fails twice with a service retcode (the quick
    restore's call and the QR login's): an unattended relogin retries with a backoff instead
    of stopping the client, and is running again once the service answers."""
    srv = make_sandbox()
    client, rec = make_client(srv.url)
    assert client.wait_for_state("running", 20)
    assert srv.world.wait_for_polls(1, 5)
    srv.world.add_fault("getvfwebqq", count=2, retcode=100001)
    srv.world.add_fault("poll2", count=1, retcode=103)
    srv.world.inject_message("friend_message", friend_uid(srv), "wake")
    rec.wait("relogin", timeout=20)
    assert client.wait_for_state("running", 20) and client.error is None
    assert _message_arrives(srv, rec, "after refused relogin")
