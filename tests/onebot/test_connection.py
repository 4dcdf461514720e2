"""The OneBot connection against a real ``websockets`` server on loopback."""

from __future__ import annotations

import threading
import time

import pytest
from onebot_fake import ok

from helpers import eventually
from openqq_sync.backends.onebot.connection import (
    ActionFailed,
    ActionTimeout,
    Connection,
    ConnectionLost,
    TokenRejected,
    open_with_backoff,
)


@pytest.fixture
def connect():
    """``connect(url, **kw) -> Connection`` opened; all closed after the test."""
    opened = []

    def make(url, **kw):
        conn = Connection(url, name="test-onebot-reader", **kw)
        opened.append(conn)
        return conn.open()

    yield make
    for conn in opened:
        conn.close()


def test_concurrent_callers_each_get_their_own_answer(fake_onebot, connect):
    server = fake_onebot(token="s3cret-token")
    n = 16
    arrived = []
    all_arrived = threading.Event()
    lock = threading.Lock()

    def held(params, frame):
        # hold every answer until all n requests are in, then answer in reverse order
        with lock:
            arrived.append(frame)
            if len(arrived) < n:
                return None
            all_arrived.set()
        for f in reversed(arrived[:-1]):
            server.conns[0].send('{"status":"ok","retcode":0,"data":%d,"echo":"%s"}'
                                 % (f["params"]["i"] * 10, f["echo"]))
        return ok(params["i"] * 10)

    server.handlers["get_x"] = held
    conn = connect(server.url, token="s3cret-token")
    results = {}

    def call(i):
        results[i] = conn.call("get_x", {"i": i}, timeout=10)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert all_arrived.is_set()
    assert results == {i: i * 10 for i in range(n)}
    assert len({f["echo"] for f in arrived}) == n
    assert server.auth_headers == ["Bearer s3cret-token"]


def test_a_token_no_header_can_carry_is_refused_up_front():
    for bad in ("秘密", "a b", "a\nb"):
        with pytest.raises(ValueError):
            Connection("ws://127.0.0.1:9/", token=bad)


def test_failed_answer_raises_with_retcode_and_wording(fake_onebot, connect):
    server = fake_onebot()
    server.handlers["send_group_msg"] = lambda p, f: {
        "status": "failed", "retcode": 1200, "data": None,
        "message": "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg",
        "wording": "Timeout: NTEvent serviceAndMethod:NodeIKernelMsgService/sendMsg"}
    conn = connect(server.url)
    with pytest.raises(ActionFailed) as info:
        conn.call("send_group_msg", {"group_id": 1, "message": [{"type": "text", "data": {"text": "你好"}}]})
    assert info.value.retcode == 1200
    assert "sendMsg" in info.value.wording
    with pytest.raises(ActionFailed) as info:
        conn.call("no_such_action")
    assert info.value.retcode == 1404
    # Chinese went out as UTF-8 text
    assert server.requests[0]["params"]["message"][0]["data"]["text"] == "你好"


def test_action_timeout_and_a_late_answer_is_dropped(fake_onebot, connect):
    server = fake_onebot()
    late = []
    server.handlers["slow"] = lambda p, f: late.append(f) and None
    server.handlers["fast"] = lambda p, f: ok("fast")
    conn = connect(server.url)
    start = time.monotonic()
    with pytest.raises(ActionTimeout):
        conn.call("slow", timeout=0.3)
    assert 0.3 <= time.monotonic() - start < 3
    # the answer arriving after the timeout does not land on the next caller
    server.conns[0].send('{"status":"ok","retcode":0,"data":"late","echo":"%s"}' % late[0]["echo"])
    assert conn.call("fast", timeout=5) == "fast"
    assert conn.alive


def test_events_arrive_in_order_and_answers_stay_out_of_them(fake_onebot, connect):
    server = fake_onebot()
    server.handlers["get_login_info"] = lambda p, f: ok({"user_id": 10000, "nickname": "机器人"})
    conn = connect(server.url)
    first = conn.next_event(timeout=5)
    assert (first["post_type"], first["meta_event_type"]) == ("meta_event", "lifecycle")
    assert conn.call("get_login_info") == {"user_id": 10000, "nickname": "机器人"}
    for i in range(50):
        server.push({"post_type": "message", "message_type": "private", "message_id": i, "message": "消息%d" % i})
    got = [conn.next_event(timeout=5) for _ in range(50)]
    assert [e["message_id"] for e in got] == list(range(50))
    assert got[7]["message"] == "消息7"
    assert conn.next_event(timeout=0.05) is None


def test_a_call_pending_when_the_server_goes_away_ends_at_once(fake_onebot, connect):
    server = fake_onebot()
    server.handlers["slow"] = lambda p, f: None
    conn = connect(server.url)
    assert server.wait_connections(1)
    failed = []

    def call():
        try:
            conn.call("slow", timeout=30)
        except ConnectionLost as e:
            failed.append(e)

    t = threading.Thread(target=call)
    t.start()
    eventually(lambda: server.requests)
    start = time.monotonic()
    server.stop()
    t.join(10)
    assert failed and time.monotonic() - start < 5
    with pytest.raises(ConnectionLost):
        while True:
            conn.next_event(timeout=5)
    with pytest.raises(ConnectionLost):
        conn.call("anything")
    assert not conn.alive


@pytest.mark.parametrize("heartbeat, expect, seen", [
    # The socket stays up and answers pings, but the OneBot heartbeats stop after one.
    ({"post_type": "meta_event", "meta_event_type": "heartbeat", "status": {"online": True, "good": True},
      "interval": 200}, None, ["lifecycle", "heartbeat"]),
    # None ever comes on this connection; an earlier one heard them every 200 ms.
    (None, 0.2, ["lifecycle"]),
], ids=["after-the-last-heartbeat", "from-the-connect"])
def test_heartbeat_watchdog_ends_a_silent_connection(fake_onebot, connect, heartbeat, expect, seen):
    server = fake_onebot(heartbeat=heartbeat)
    start = time.monotonic()
    conn = connect(server.url, expect_heartbeat=expect)
    events = []
    with pytest.raises(ConnectionLost) as info:
        while True:
            events.append(conn.next_event(timeout=5))
    elapsed = time.monotonic() - start
    assert "heartbeat" in str(info.value)
    assert 0.4 <= elapsed < 3          # 2.5 intervals of 200 ms after the last heartbeat (or the connect)
    assert [e["meta_event_type"] for e in events] == seen
    # What the next connection is told to expect: only what this one heard.
    assert conn.heartbeat_interval == (0.2 if heartbeat else None)


def test_regular_heartbeats_keep_the_connection(fake_onebot, connect):
    server = fake_onebot(heartbeat={"post_type": "meta_event", "meta_event_type": "heartbeat",
                                    "status": {"online": True}, "interval": 200})
    conn = connect(server.url)
    assert server.wait_connections(1)
    stop = threading.Event()

    def beat():
        while not stop.wait(0.1):
            server.push({"post_type": "meta_event", "meta_event_type": "heartbeat",
                         "status": {"online": True}, "interval": 200})

    t = threading.Thread(target=beat)
    t.start()
    try:
        deadline = time.monotonic() + 1.5   # more than 7 intervals
        while time.monotonic() < deadline:
            conn.next_event(timeout=0.5)
        assert conn.alive
    finally:
        stop.set()
        t.join(5)


def test_token_refused_at_the_handshake(fake_onebot):
    server = fake_onebot(token="right")
    with pytest.raises(TokenRejected):
        Connection(server.url, token="wrong").open()
    with pytest.raises(TokenRejected):
        Connection(server.url).open()


def test_token_refused_napcat_style(fake_onebot, connect):
    server = fake_onebot(token="right", reject_with="1403")
    conn = connect(server.url, token="wrong")
    with pytest.raises(TokenRejected):
        while True:
            conn.next_event(timeout=5)


def test_reconnect_with_backoff_after_a_server_restart(fake_onebot, connect):
    server = fake_onebot()
    port = server.port
    server.handlers["get_status"] = lambda p, f: ok({"online": True, "good": True})
    conn = connect(server.url)
    assert conn.call("get_status")["online"] is True
    server.stop()
    with pytest.raises(ConnectionLost):
        while True:
            conn.next_event(timeout=5)

    stop = threading.Event()
    delays = []
    result = []
    restarted = []

    def next_delay():
        delays.append(0.05)
        if len(delays) == 3:   # the server comes back after three failed attempts
            restarted.append(fake_onebot(port=port))
            restarted[0].handlers["get_status"] = lambda p, f: ok({"online": True, "good": True})
        return 0.05

    t = threading.Thread(target=lambda: result.append(
        open_with_backoff(lambda: Connection(f"ws://127.0.0.1:{port}", name="test-onebot-reader"),
                          stop, next_delay)))
    t.start()
    t.join(10)
    new = result[0]
    try:
        assert len(delays) == 3
        assert new is not conn and new.alive
        assert new.call("get_status")["online"] is True
    finally:
        new.close()


def test_open_with_backoff_returns_none_on_stop():
    stop = threading.Event()
    calls = []

    def next_delay():
        calls.append(1)
        stop.set()
        return 30.0

    start = time.monotonic()
    assert open_with_backoff(lambda: Connection("ws://127.0.0.1:9/", open_timeout=1), stop, next_delay) is None
    assert time.monotonic() - start < 5 and calls == [1]


def test_close_joins_the_reader_and_ends_the_event_stream(fake_onebot):
    server = fake_onebot()
    conn = Connection(server.url, name="test-onebot-reader-close").open()
    assert any(t.name == "test-onebot-reader-close" for t in threading.enumerate())
    conn.close()
    conn.close()  # idempotent
    assert not any(t.name == "test-onebot-reader-close" for t in threading.enumerate())
    with pytest.raises(ConnectionLost):
        while True:
            conn.next_event(timeout=5)


def test_a_large_answer_passes(fake_onebot, connect):
    # A big group's member list comes as one frame, well beyond websockets' 1 MiB default.
    members = [{"group_id": 1, "user_id": 10**9 + i, "nickname": "成员%d" % i, "card": "名片" * 20}
               for i in range(20000)]
    server = fake_onebot()
    server.handlers["get_group_member_list"] = lambda p, f: ok(members)
    conn = connect(server.url)
    got = conn.call("get_group_member_list", {"group_id": 1}, timeout=30)
    assert len(got) == 20000 and got[-1]["nickname"] == "成员19999"
