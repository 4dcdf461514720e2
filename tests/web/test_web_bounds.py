"""Bounds on what one caller can make the API do (issue 17, Bounds), over real HTTP on loopback:
idle and incomplete connections time out, malformed requests log no traceback, nested JSON is a
400, the send queue, message length and mute length have limits, and the session's vfwebqq is in
no answer."""

from __future__ import annotations

import json
import logging
import re
import socket
import time

import pytest
import requests

from helpers import eventually
from openqq_sync.serving import QuietLog
from openqq_sync.web.app import create_app
from openqq_sync.web.server import ApiServer
from stacks import LiveStack, StubClient, config, json_answer

THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    stack = LiveStack(str(tmp_path_factory.mktemp("bounds")), max_message_length=50)
    try:
        yield stack
    finally:
        stack.close()


def _stub_server(**server_kw):
    app = create_app(StubClient(state="running"), config(), _stop_delay=0.05)
    return app, ApiServer(app, host="127.0.0.1", port=0, name="test-openqq-http", **server_kw).start()


# --- connections ---------------------------------------------------------------------
def test_idle_connections_time_out_and_the_api_answers_others(caplog):
    """700 connections from one client, each holding half a request line, past the
    connection limit: once they time out (idle_timeout) another caller is answered."""
    app, server = _stub_server(threads=4, connection_limit=100, idle_timeout=1)
    idle = []
    try:
        for _ in range(700):
            sock = socket.create_connection(server.address, timeout=30)
            sock.sendall(b"GET /openqq/get_client_info HT")
            idle.append(sock)
        started = time.monotonic()
        answer = requests.get(server.url + "/openqq/get_client_info", timeout=20)
        waited = time.monotonic() - started
        assert answer.status_code == 200 and answer.json()["code"] == 0
        # Behind 600 others in the listen backlog: 7 rounds of 100 timing out (1-2 s each).
        assert waited < 30, f"answered only after {waited:.1f} s"
        # The server closed the idle ones itself (recv sees the end, not a timeout).
        closed = 0
        for sock in idle[:100]:
            sock.settimeout(10)
            try:
                closed += sock.recv(100) == b""
            except ConnectionResetError:
                closed += 1
        assert closed == 100
    finally:
        for sock in idle:
            sock.close()
        server.stop()
        app.extensions["openqq_sync"].delivery.stop(0.5)


def test_idle_timeout_is_an_option_with_a_30_s_default():
    from openqq_sync.config import Config
    assert Config().idle_timeout == 30 and Config().connection_limit == 1000
    assert Config(idle_timeout="5").idle_timeout == 5.0
    with pytest.raises(ValueError):
        Config(idle_timeout=-1)


def test_malformed_requests_log_no_traceback(caplog):
    app, server = _stub_server(threads=4)
    bad = [b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nNo colon here\r\n\r\n", b"get / HTTP/1.1\r\n\r\n",
           b"GET / HTTP/1.1\r\nX Y: 1\r\n\r\n", b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
           b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"]
    try:
        with caplog.at_level(logging.DEBUG):
            for _ in range(50):
                for raw in bad:
                    with socket.create_connection(server.address, timeout=10) as sock:
                        sock.sendall(raw)
                        assert sock.recv(100).split(b" ")[1] in (b"400", b"501")
            assert requests.get(server.url + "/openqq/get_client_info", timeout=10).status_code == 200
    finally:
        server.stop()
        app.extensions["openqq_sync"].delivery.stop(0.5)
    # waitress itself logs a client that hangs up on its 400 (waitress.task): one line, no traceback.
    assert not [r for r in caplog.records if r.exc_info]
    assert len([r for r in caplog.records if r.name.startswith("waitress")]) <= 20


def test_quiet_log_cuts_tracebacks_and_rate_limits():
    logger = logging.getLogger("test.quiet")
    logger.propagate = False
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    handler = Keep()
    logger.addHandler(handler)
    quiet = QuietLog(burst=5, window=0.2)
    logger.addFilter(quiet)
    try:
        for i in range(1000):
            try:
                raise ValueError(f"bad request {i}")
            except ValueError:
                logger.exception("Exception while serving /x")
        assert len(seen) == 5 and not any(r.exc_info for r in seen)
        assert seen[0].getMessage() == "Exception while serving /x (ValueError: bad request 0)"
        time.sleep(0.25)     # the next window (a rate limit is time itself)
        logger.warning("later")
        assert seen[-1].getMessage() == "later [995 similar line(s) suppressed]"
    finally:
        logger.removeFilter(quiet)
        logger.removeHandler(handler)


def test_json_nested_100000_deep_is_a_400_without_traceback(caplog):
    app, server = _stub_server(threads=4)
    try:
        with caplog.at_level(logging.DEBUG):
            for body in (b"[" * 100000, b'{"a":' * 100000):
                answer = requests.post(server.url + "/openqq/get_client_info", data=body, timeout=30,
                                       headers={"Content-Type": "application/json"})
                assert answer.status_code == 400
                assert answer.json() == {"code": 400, "status": "invalid JSON body"}
    finally:
        server.stop()
        app.extensions["openqq_sync"].delivery.stop(0.5)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# --- sends and mutes -----------------------------------------------------------------
def test_send_queue_full_answers_429(tmp_path):
    stack = LiveStack(str(tmp_path), receiver=False, send_interval=30, send_queue_size=2)
    try:
        friend = stack.world["friends"][0]
        url = stack.url + "/openqq/send_friend_message"
        first = requests.get(url, params={"uid": friend["uid"], "content": "one"}, timeout=30).json()
        assert first["code"] == 0
        for text in ("two", "three"):       # both wait for the 30 s interval
            assert requests.get(url, params={"uid": friend["uid"], "content": text, "async": 1},
                                timeout=30).json()["code"] == 0
        full = requests.get(url, params={"uid": friend["uid"], "content": "four", "async": 1}, timeout=30)
        assert full.status_code == 429
        assert full.json() == {"id": None, "code": 429, "status": "send queue full"}
    finally:
        stack.close()
    assert [r["content"] for r in stack.sandbox.world.sent] == ["one"]


def test_message_length_is_capped_for_api_sends(live):
    friend = live.world["friends"][0]
    at_limit = "长" * 50
    ok = live.get("/openqq/send_friend_message", uid=friend["uid"], content=at_limit)
    assert ok["code"] == 0
    over = live.get("/openqq/send_friend_message", uid=friend["uid"], content=at_limit + "!")
    assert over == {"id": None, "code": 400, "status": "content too long"}
    assert at_limit + "!" not in [r.get("content") for r in live.sandbox.world.sent]


def test_post_api_reply_over_the_cap_is_not_sent(live, caplog):
    friend = live.world["friends"][1]
    live.answer = lambda req: json_answer({"reply": "回" * 51} if req.json().get("content") == "长回复"
                                          else {})
    try:
        with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.replies"):
            live.sandbox.world.inject_message("friend_message", friend["uid"], "长回复")
            eventually(lambda: "reply not sent: content too long" in caplog.text, timeout=10)
    finally:
        live.answer = lambda req: (200, {"Content-Type": "text/plain"}, b"ok")
    assert "回" * 51 not in [r.get("content") for r in live.sandbox.world.sent]
    assert not [r for r in caplog.records if r.exc_info]


def test_mute_length_is_at_most_30_days(live):
    me = live.world["account"]["uid"]
    group = next(g for g in live.world["groups"] if g["role"] == "manage")
    member = next(m for m in group["members"] if m["role"] == "member" and m["uid"] != me)
    for seconds in (THIRTY_DAYS + 1, 10 ** 12):
        assert live.get("/openqq/shutup_group_member", group_uid=group["uid"], member_uid=member["uid"],
                        time=seconds) == {"code": 400, "status": "shutup time missing or error"}
    assert live.get("/openqq/shutup_group_member", group_uid=group["uid"], member_uid=member["uid"],
                    time=THIRTY_DAYS) == {"code": 0, "status": "success"}
    seconds = [r["seconds"] for r in live.sandbox.world.admin_log if r["action"] == "shutup"]
    assert seconds == [THIRTY_DAYS]


def test_post_api_mute_over_30_days_is_ignored(live, caplog):
    me = live.world["account"]["uid"]
    group = next(g for g in live.world["groups"] if g["role"] == "manage")
    member = next(m for m in group["members"] if m["role"] == "member" and m["uid"] != me)
    live.answer = lambda req: json_answer({"shutup": 1, "shutup_time": 10 ** 12}
                                          if req.json().get("content") == "禁言我" else {})
    before = len(live.sandbox.world.admin_log)
    try:
        with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.replies"):
            live.sandbox.world.inject_message("group_message", member["uid"], "禁言我", group_uid=group["uid"])
            eventually(lambda: "outside 60 to 2592000 s; ignored" in caplog.text, timeout=10)
    finally:
        live.answer = lambda req: (200, {"Content-Type": "text/plain"}, b"ok")
    assert len(live.sandbox.world.admin_log) == before


# --- secrets -----------------------------------------------------------------------
def test_get_user_info_has_no_session_secret(live):
    info = live.get("/openqq/get_user_info")
    assert info["id"] and "vfwebqq" not in info
    text = json.dumps(info) + json.dumps(live.get("/openqq/get_client_info"))
    for secret in ("vfwebqq", "psessionid", "ptwebqq"):
        assert secret not in text
    # The sandbox's vfwebqq (like the real one) is 80 hex digits: no such value is in the answers.
    assert not re.search(r"[0-9a-f]{80}", text)
