"""Cached reads answered by waitress's loop thread without a worker (web/_inline.py).

Raw HTTP/1.1 over loopback, so the bytes of an inline answer can be compared with the ones a
worker writes for the same request, and requests can be pipelined.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from openqq_sync.web import _inline, _wire
from openqq_sync.web._fastpath import KEYS
from webkit import LiveStack, eventually
from webkit.rawhttp import connect, read, request_bytes, send, without_date


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    s = LiveStack(str(tmp_path_factory.mktemp("inline")), receiver=False)
    try:
        yield s
    finally:
        s.close()


def _connect(stack: LiveStack) -> socket.socket:
    return connect(stack.server.address)


def _read_after(stack: LiveStack, sock: socket.socket, path: str, **kw):
    """(response, answered inline?) for one request on ``sock``."""
    before = stack.server.inline_answers
    send(sock, path, **kw)
    response = read(sock)
    return response, stack.server.inline_answers > before


def _warm(stack: LiveStack, path: str) -> None:
    # The first request of a key is built (and cached) by Flask on a worker.
    stack.get(path)


SEARCH = "/openqq/search_friend?name={name}"


@pytest.mark.parametrize("path", ["/openqq/get_friend_info", "/openqq/get_group_basic_info",
                                  "/openqq/get_group_info", "/openqq/get_discuss_info"])
def test_an_inline_answer_is_the_worker_answer_byte_for_byte(stack, monkeypatch, path):
    _warm(stack, path)
    sock = _connect(stack)
    inline, was_inline = _read_after(stack, sock, path)
    assert was_inline
    monkeypatch.setattr(_inline, "KEYS", {})      # now a worker (FastReads) answers it
    worker, was_inline = _read_after(stack, sock, path)
    sock.close()
    assert not was_inline
    assert without_date(inline) == without_date(worker)
    assert inline[0] == "HTTP/1.1 200 OK" and [h[0] for h in inline[1]] == [
        "Access-Control-Allow-Origin", "Content-Length", "Content-Type", "Date", "Server"]
    assert json.loads(inline[2]) == stack.get(path)


def test_a_chinese_search_round_trips_and_a_change_shows_on_the_next_call(stack):
    friend = next(f for f in stack.world["friends"] if f["uid"])
    path = f"/openqq/search_friend?uid={friend['uid']}"
    _warm(stack, path)
    sock = _connect(stack)
    (_, _, body), was_inline = _read_after(stack, sock, path)
    assert was_inline and [f["id"] for f in json.loads(body)] == [friend["id"]]
    stack.sandbox.world.rename_friend(friend["uid"], name="内联 <改名> & 😀")
    stack.client.refresh_contacts()
    # The contacts changed: the cached bytes are stale, so Flask answers (and caches anew).
    (_, _, body), was_inline = _read_after(stack, sock, path)
    assert not was_inline
    assert json.loads(body)[0]["name"] == "内联 <改名> & 😀"
    assert "内联 <改名> & 😀".encode("utf-8") in body          # raw UTF-8, no \\u escapes
    (_, _, again), was_inline = _read_after(stack, sock, path)
    sock.close()
    assert was_inline and again == body


def test_pipelined_requests_are_answered_in_order_whoever_answers_each(stack):
    paths = ["/openqq/get_friend_info", "/openqq/get_user_info", "/openqq/get_group_basic_info",
             "/openqq/search_friend?name=%E6%97%A0%E6%AD%A4%E4%BA%BA", "/openqq/get_friend_info"]
    for p in ("/openqq/get_friend_info", "/openqq/get_group_basic_info"):
        _warm(stack, p)
    sock = _connect(stack)
    before = stack.server.inline_answers
    sock.sendall(b"".join(request_bytes(p) for p in paths))
    buf = bytearray()
    bodies = [json.loads(read(sock, buf)[2]) for _ in paths]
    sock.close()
    assert stack.server.inline_answers > before
    assert bodies[0] == bodies[4] == stack.get(paths[0])
    assert bodies[1]["uid"] == stack.world["account"]["uid"]
    assert bodies[2] == stack.get(paths[2])
    assert bodies[3] == {"code": 100, "status": "object not found"}


def test_a_slow_reader_pipelining_big_answers_gets_every_one_in_order(stack):
    # About 8 MB of answers asked for at once and read only afterwards, more than the socket
    # buffers hold: the loop queues what it has read without waiting for the reader (a
    # worker's write would wait), reads on as the reader catches up, and sends in order.
    path, other = "/openqq/get_group_info", "/openqq/get_user_info"
    _warm(stack, path)
    sock = _connect(stack)
    # (Behind a request a worker serves, the rest of a pipeline goes to workers in turn.)
    paths = [path] * 270 + [other] * 30
    before = stack.server.inline_answers
    sock.sendall(b"".join(request_bytes(p) for p in paths))
    buf = bytearray()
    bodies = [read(sock, buf)[2] for _ in paths]
    sock.close()
    assert stack.server.inline_answers - before == 270
    want = json.dumps(stack.get(path), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    assert len(want) * 270 > 6_000_000
    assert [b for b, p in zip(bodies, paths) if p == path] == [want] * 270
    assert all(json.loads(b)["uid"] == stack.world["account"]["uid"] for b, p in zip(bodies, paths) if p == other)


def test_the_loop_thread_never_pulls_waitress_wake_up_pipe(stack, monkeypatch):
    # That pipe's writes block when it is full, and only the loop thread empties it: a pull
    # from the loop thread itself can wait forever (seen with 300 slow readers).
    waitress_server = stack.server._server
    loop_thread = next(t for t in threading.enumerate() if t.name == "test-openqq-http")
    pulls_from_loop = []
    real_pull = waitress_server.pull_trigger

    def pull(*a, **kw):
        if threading.current_thread() is loop_thread:
            pulls_from_loop.append(1)
        return real_pull(*a, **kw)
    monkeypatch.setattr(waitress_server, "pull_trigger", pull)
    path = "/openqq/get_group_info"
    _warm(stack, path)
    slow = _connect(stack)
    slow.sendall(request_bytes(path) * 200)        # ~6 MB that the socket cannot take at once
    since = stack.delivery.buffer.last_seq
    parked = _connect(stack)
    send(parked, f"/openqq/check_event?since={since}")
    eventually(lambda: stack.server.parked_polls == 1)
    stack.sandbox.world.inject_message("friend_message", stack.world["friends"][0]["uid"], "不拉管子")
    assert "不拉管子" in read(parked)[2].decode("utf-8")
    buf = bytearray()
    assert len({read(slow, buf)[2] for _ in range(200)}) == 1
    slow.close()
    parked.close()
    assert pulls_from_loop == []


def test_the_shared_buffer_hands_out_its_parts_in_order_without_copying():
    head, body = b"HEAD\r\n\r\n", bytes(range(256)) * 40
    parts = _wire._Parts((head, b"", body))
    assert len(parts) == len(head) + len(body)
    out = bytearray()
    while len(parts):
        chunk = parts.get(4000)
        assert 0 < len(chunk) <= 4000 and isinstance(chunk, memoryview)
        taken = min(len(chunk), 1234)      # as a socket that takes less than offered
        out += chunk[:taken]
        parts.skip(taken, True)
    assert bytes(out) == head + body and len(parts.get(10)) == 0
    shared = _wire._Parts((body,))
    assert shared.get(100).obj is body                                  # a view, not a copy
    shared.close()
    assert len(shared) == 0


class _Channel:
    """What InlineReads reads of a waitress channel, around a real parsed request."""

    def __init__(self, raw: bytes) -> None:
        from waitress.adjustments import Adjustments
        from waitress.parser import HTTPRequestParser
        request = HTTPRequestParser(Adjustments())
        request.received(raw)
        assert request.completed
        self.requests = [request]
        self.requests_lock = threading.Lock()
        self.connected = True


def test_only_the_loop_thread_inside_received_answers(stack):
    path = "/openqq/get_group_basic_info"
    _warm(stack, path)
    inline = _inline.InlineReads(stack.app.wsgi_app)
    inline.loop_started()               # this thread plays the loop
    went = []
    inline._dispatch = lambda channel: went.append("worker")
    inline.take = lambda channel, body: went.append(body)
    cached = stack.app.wsgi_app.cached_body({}, KEYS[path])
    channel = _Channel(request_bytes(path))
    with channel.requests_lock:         # as HTTPChannel.received holds it
        inline._add_task(channel)
        t = threading.Thread(target=inline._add_task, args=(channel,))   # a worker's hand-over
        t.start()
        t.join()
    inline._add_task(channel)           # not from received (the lock free)
    assert went == [cached, "worker", "worker"]


@pytest.mark.parametrize("version, headers", [("1.1", {"Connection": "close"}), ("1.0", {}),
                                              ("1.1", {"Expect": "100-continue"})])
def test_requests_outside_the_plain_case_go_to_a_worker(stack, version, headers):
    path = "/openqq/get_group_basic_info"
    _warm(stack, path)
    sock = _connect(stack)
    response, was_inline = _read_after(stack, sock, path, version=version, headers=headers)
    assert not was_inline
    assert response[0] in (f"HTTP/{version} 200 OK", "HTTP/1.1 100 Continue")
    sock.close()


def test_parameters_the_fast_path_does_not_know_go_to_flask(stack):
    path = "/openqq/get_friend_info"
    _warm(stack, path)
    sock = _connect(stack)
    (status, headers, body), was_inline = _read_after(stack, sock, path + "?datatype=jsonp&callback=cb")
    sock.close()
    assert not was_inline and body.startswith(b"cb(")


def test_with_a_token_only_an_authorized_request_is_answered_inline(tmp_path):
    own = LiveStack(str(tmp_path), receiver=False, token="内联-s3cret")
    try:
        path = "/openqq/get_group_basic_info"
        own.get(path, access_token="内联-s3cret")
        sock = _connect(own)
        (status, _, body), was_inline = _read_after(own, sock, path, headers={"Authorization": "Bearer wrong"})
        assert status == "HTTP/1.1 401 UNAUTHORIZED" and not was_inline
        sock.close()
        sock = _connect(own)
        (status, _, body), was_inline = _read_after(
            own, sock, path + "?access_token=%E5%86%85%E8%81%94-s3cret")
        assert status == "HTTP/1.1 200 OK" and was_inline
        (status, _, body), was_inline = _read_after(own, sock, path,
                                                    headers={"X-Auth-Token": "内联-s3cret".encode().decode("latin-1")})
        assert status == "HTTP/1.1 200 OK" and was_inline
        sock.close()
    finally:
        own.close()


def test_a_client_that_is_not_running_gets_flasks_answer(tmp_path):
    own = LiveStack(str(tmp_path), receiver=False)
    try:
        path = "/openqq/get_friend_info"
        own.get(path)
        own.client.stop()
        eventually(lambda: own.client.state != "running")
        sock = _connect(own)
        (status, _, body), was_inline = _read_after(own, sock, path)
        sock.close()
        assert not was_inline
        # The original answers 200 with its code inside (protocol document 11.2).
        assert status == "HTTP/1.1 200 OK" and json.loads(body)["status"] == "client not running"
    finally:
        own.close()
