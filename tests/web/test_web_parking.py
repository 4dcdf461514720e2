"""check_event?since= requests that wait parked on waitress's loop thread (web/_parking.py).

Every test talks raw HTTP/1.1 over loopback, so the exact bytes of a parked answer can be
compared with the answer a worker thread writes for the same request.
"""

from __future__ import annotations

import json
import socket
import struct
import threading

import pytest

from openqq_sync.web import _parking
from webkit import LiveStack, eventually, leaked_threads
from webkit.rawhttp import connect, read as _read, request_bytes, send as _send, without_date


def _module_stack(name: str, check_event_timeout: float):
    @pytest.fixture(scope="module")
    def fixture(tmp_path_factory):
        s = LiveStack(str(tmp_path_factory.mktemp(name)), receiver=False,
                      check_event_timeout=check_event_timeout)
        try:
            yield s
        finally:
            s.close()
    return fixture


stack = _module_stack("parking", 20)
short = _module_stack("parking-short", 0.3)


def _connect(stack: LiveStack) -> socket.socket:
    return connect(stack.server.address)


def _inject(stack: LiveStack, content: str) -> None:
    stack.sandbox.world.inject_message("friend_message", stack.world["friends"][0]["uid"], content)


def _cursor(stack: LiveStack) -> int:
    # The last seq the API has handed out: waiting with it parks until the next event.
    return stack.delivery.buffer.last_seq


def test_a_parked_answer_is_the_worker_answer_byte_for_byte(stack, monkeypatch):
    since = _cursor(stack)
    sock = _connect(stack)
    _send(sock, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 1)
    assert stack.delivery.buffer.waiters == 0          # no worker thread holds it
    _inject(stack, "停车场 <&\"> 😀")
    parked = _read(sock)
    # The same request now finds the item at once: the loop thread answers it...
    _send(sock, f"/openqq/check_event?since={since}")
    at_once = _read(sock)
    # ... unless the items are more than it answers itself: then a worker (FastReads) does.
    monkeypatch.setattr(_parking, "READY_MAX", 0)
    _send(sock, f"/openqq/check_event?since={since}")
    worker = _read(sock)
    sock.close()
    assert without_date(parked) == without_date(at_once) == without_date(worker)
    assert parked[0] == "HTTP/1.1 200 OK" and [h[0] for h in parked[1]] == [
        "Access-Control-Allow-Origin", "Content-Length", "Content-Type", "Date", "Server"]
    assert '"content":"停车场 <&\\"> 😀"' in parked[2].decode("utf-8")


def test_a_consumer_keeping_up_is_answered_by_the_loop_and_a_backlog_by_a_worker(stack, monkeypatch):
    answered_by = []
    monkeypatch.setattr(stack.server._parking, "_answer_now",
                        _spy(stack.server._parking._answer_now, lambda: answered_by.append("loop")))
    since = _cursor(stack)
    for n in range(3):
        _inject(stack, f"跟上 {n}")
    eventually(lambda: stack.delivery.buffer.last_seq >= since + 3)
    sock = _connect(stack)
    _send(sock, f"/openqq/check_event?since={since}")
    kept_up = _read(sock)
    monkeypatch.setattr(_parking, "READY_MAX", 2)     # three items: a backlog now
    _send(sock, f"/openqq/check_event?since={since}")
    backlog = _read(sock)
    sock.close()
    assert answered_by == ["loop"]
    assert kept_up[2] == backlog[2]
    assert [i["content"] for i in json.loads(kept_up[2])] == ["跟上 0", "跟上 1", "跟上 2"]


def _spy(real, note):
    def spy(*a, **kw):
        note()
        return real(*a, **kw)
    return spy


def test_the_connection_stays_open_for_the_next_request(stack):
    sock = _connect(stack)
    _send(sock, f"/openqq/check_event?since={_cursor(stack)}")
    eventually(lambda: stack.server.parked_polls == 1)
    _inject(stack, "保持连接")
    assert b"\xe4\xbf\x9d\xe6\x8c\x81" in _read(sock)[2]
    _send(sock, "/openqq/get_user_info")
    status, _, body = _read(sock)
    sock.close()
    assert status == "HTTP/1.1 200 OK" and b'"uid"' in body


def test_hundreds_of_parked_requests_are_answered_by_one_event_without_workers(stack):
    # 80 waiters against a pool of 24 threads: on workers they could not all be held (and
    # waitress's connection limit at 24 threads is 100).
    assert stack.config.threads < 80
    since = _cursor(stack)
    socks = [_connect(stack) for _ in range(80)]
    for s in socks:
        _send(s, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 80, timeout=10)
    assert stack.delivery.buffer.waiters == 0
    _inject(stack, "全体起床")
    bodies = {_read(s)[2] for s in socks}
    for s in socks:
        s.close()
    assert len(bodies) == 1 and "全体起床" in bodies.pop().decode("utf-8")
    assert stack.server.parked_polls == 0


def test_a_client_that_hangs_up_while_parked_does_not_hurt_the_others(stack):
    since = _cursor(stack)
    gone, staying = _connect(stack), _connect(stack)
    for s in (gone, staying):
        _send(s, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 2)
    gone.close()
    _inject(stack, "有人走了")
    assert "有人走了" in _read(staying)[2].decode("utf-8")
    staying.close()
    eventually(lambda: stack.server.parked_polls == 0)
    assert stack.get("/openqq/get_user_info")["uid"]


@pytest.mark.parametrize("version, headers", [("1.1", {"Connection": "close"}), ("1.0", {})])
def test_requests_outside_the_plain_case_wait_on_a_worker_as_before(stack, version, headers):
    sock = _connect(stack)
    _send(sock, f"/openqq/check_event?since={_cursor(stack)}", version, headers)
    eventually(lambda: stack.delivery.buffer.waiters == 1)
    assert stack.server.parked_polls == 0
    _inject(stack, f"工人 {version}")
    status, _, body = _read(sock)
    assert status == f"HTTP/{version} 200 OK" and f"工人 {version}" in body.decode("utf-8")
    assert sock.recv(1) == b""                          # and the connection closes after it
    sock.close()


def test_a_bad_cursor_is_not_parked_but_refused(stack):
    sock = _connect(stack)
    _send(sock, "/openqq/check_event?since=abc")
    status, _, body = _read(sock)
    sock.close()
    assert status == "HTTP/1.1 200 OK" and b'"code":400' in body.replace(b" ", b"")


def test_a_parked_request_times_out_with_an_empty_list_twice_on_one_connection(short):
    sock = _connect(short)
    for _ in range(2):
        _send(sock, f"/openqq/check_event?since={_cursor(short)}")
        status, _, body = _read(sock)
        assert (status, body) == ("HTTP/1.1 200 OK", b"[]")
    sock.close()
    assert short.server.parked_polls == 0


def test_stopping_the_server_answers_parked_requests_and_leaves_no_thread(tmp_path):
    before = set(threading.enumerate())
    own = LiveStack(str(tmp_path), receiver=False, check_event_timeout=20)
    sock = _connect(own)
    try:
        _send(sock, f"/openqq/check_event?since={_cursor(own)}")
        eventually(lambda: own.server.parked_polls == 1)
        own.server.stop()              # the event buffer is still open: nothing else answers
        status, _, body = _read(sock)
        assert (status, body) == ("HTTP/1.1 200 OK", b"[]")
        assert sock.recv(1) == b""     # then the server closes the connection
    finally:
        sock.close()
        own.close()
    assert leaked_threads(before) == []


def test_with_a_token_only_an_authorized_request_is_parked(tmp_path):
    own = LiveStack(str(tmp_path), receiver=False, check_event_timeout=20, token="停车-s3cret")
    try:
        since = _cursor(own)
        refused = _connect(own)
        _send(refused, f"/openqq/check_event?since={since}", headers={"Authorization": "Bearer wrong"})
        status, _, body = _read(refused)
        refused.close()
        assert status == "HTTP/1.1 401 UNAUTHORIZED" and b"-6" in body
        assert own.server.parked_polls == 0
        allowed = _connect(own)
        _send(allowed, f"/openqq/check_event?since={since}&access_token=%E5%81%9C%E8%BD%A6-s3cret")
        eventually(lambda: own.server.parked_polls == 1)
        _inject(own, "有票")
        assert "有票" in _read(allowed)[2].decode("utf-8")
        allowed.close()
    finally:
        own.close()


def test_one_failing_answer_does_not_keep_the_others_waiting(stack, monkeypatch, caplog):
    parking = stack.server._parking
    real, calls = parking._answer, []

    def flaky(channel, response):
        calls.append(channel)
        if len(calls) == 1:
            raise RuntimeError("injected answer failure")
        real(channel, response)

    monkeypatch.setattr(parking, "_answer", flaky)
    since = _cursor(stack)
    socks = [_connect(stack) for _ in range(3)]
    for s in socks:
        _send(s, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 3)
    _inject(stack, "第一次")
    # Two answered; the failed one stays parked, and the next event answers it.
    eventually(lambda: stack.server.parked_polls == 1)
    _inject(stack, "第二次")
    bodies = [_read(s)[2].decode("utf-8") for s in socks]
    for s in socks:
        s.close()
    assert sum("第一次" in b for b in bodies) == 3 and sum("第二次" in b for b in bodies) == 1
    assert "injected answer failure" in caplog.text


def test_a_cursor_from_before_a_restart_reads_from_the_start_however_many_events_come(tmp_path):
    """Parked with a cursor above the buffer's count (a consumer of the previous process):
    it reads from 0, fixed when it parks, even if the events that then arrive carry the
    count past the old cursor before the loop answers."""
    own = LiveStack(str(tmp_path), receiver=False, check_event_timeout=20, post_event=False)
    try:
        assert own.delivery.buffer.last_seq == 0          # nothing reported yet
        sock = _connect(own)
        _send(sock, "/openqq/check_event?since=3")
        eventually(lambda: own.server.parked_polls == 1)
        busy, release = threading.Event(), threading.Event()
        own.server._server.trigger.pull_trigger(lambda: (busy.set(), release.wait(5)))
        assert busy.wait(5)                               # the loop thread is held here
        for n in range(5):
            own.delivery.emit({"post_type": "event", "event": "test", "params": [n]}, drain=False)
        release.set()
        seqs = [item["seq"] for item in __import__("json").loads(_read(sock)[2])]
        sock.close()
        assert seqs == [1, 2, 3, 4, 5]
    finally:
        own.close()


def test_a_request_behind_a_parked_one_gets_its_100_continue_after_the_answer(stack):
    friend = stack.world["friends"][0]
    body = f"uid={friend['uid']}&content=%E7%BB%A7%E7%BB%AD".encode()
    sock = _connect(stack)
    sock.sendall(f"GET /openqq/check_event?since={_cursor(stack)} HTTP/1.1\r\nHost: x\r\n\r\n"
                 f"POST /openqq/send_friend_message HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
                 .encode())
    eventually(lambda: stack.server.parked_polls == 1)
    _inject(stack, "先答这个")
    buf = bytearray()
    assert "先答这个" in _read(sock, buf)[2].decode("utf-8")
    assert _read(sock, buf)[0] == "HTTP/1.1 100 Continue"
    sock.sendall(body)
    status, _, answer = _read(sock, buf)
    sock.close()
    assert status == "HTTP/1.1 200 OK" and b'"code":0' in answer.replace(b" ", b"")


def test_parked_clients_that_reset_are_dropped_and_their_connections_released(stack):
    # Nothing can be sent to a reset peer: the answer is queued, the loop's next write
    # meets the error and closes the connection. None may stay open or parked.
    waitress_server = stack.server._server
    since = _cursor(stack)
    socks = [_connect(stack) for _ in range(20)]
    for s in socks:
        _send(s, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 20)
    theirs = list(stack.server._parking._parked)
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    _inject(stack, "没人听了")
    eventually(lambda: stack.server.parked_polls == 0, timeout=10)
    # Closed: out of the loop's map and the server's channel list.
    eventually(lambda: not any(c in waitress_server._map.values() or c in waitress_server.active_channels.values()
                               for c in theirs), timeout=10)
    assert all(not c.connected for c in theirs)
    assert stack.get("/openqq/get_user_info")["uid"]


def test_a_parked_answer_behind_a_partly_sent_read_keeps_the_order(stack):
    path = "/openqq/get_group_info"
    stack.get(path)
    want = stack.get(path)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)   # the read cannot go out whole
    sock.settimeout(30)
    sock.connect(stack.server.address)
    since = _cursor(stack)
    sock.sendall(request_bytes(path) + request_bytes(f"/openqq/check_event?since={since}")
                 + request_bytes("/openqq/get_user_info") + request_bytes(path))
    eventually(lambda: stack.server.parked_polls == 1)
    _inject(stack, "排在后面")
    buf = bytearray()
    answers = [_read(sock, buf)[2] for _ in range(4)]
    sock.close()
    assert json.loads(answers[0]) == json.loads(answers[3]) == want
    assert "排在后面" in answers[1].decode("utf-8")
    assert json.loads(answers[2])["uid"] == stack.world["account"]["uid"]
