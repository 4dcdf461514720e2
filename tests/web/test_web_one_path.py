"""One request path (issue 12): every API request goes through the Flask app, so a hook an
embedding app adds sees all of them; check_event waits on worker threads under a cap; a
check_event caller that hung up takes nothing (issue 13 item 3). All over loopback HTTP."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
from flask import request

from stacks import LiveStack, eventually


def _friend(stack):
    names = [f["name"] for f in stack.world["friends"]]
    return next(f for f in stack.world["friends"] if names.count(f["name"]) == 1 and f["uid"])


def _held_check_event(stack, path="/openqq/check_event"):
    """A raw keep-alive connection that sent ``path`` and waits for its answer."""
    sock = socket.create_connection(("127.0.0.1", stack.server.port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


@pytest.fixture
def stack(tmp_path):
    s = LiveStack(str(tmp_path), check_event_timeout=10, threads=16, max_event_waiters=3)
    try:
        yield s
    finally:
        s.close()


def test_a_before_request_hook_sees_every_api_request(stack):
    seen = []

    @stack.app.before_request
    def record() -> None:
        seen.append((request.method, request.full_path))

    f = _friend(stack)
    url = stack.url + "/openqq/"
    asked = []

    def get(path, **params):
        asked.append(("GET", path))
        return requests.get(url + path, params=params, timeout=30)   # check_event waits its 10 s

    for _ in range(3):                              # the first builds the cache, the rest hit it
        assert get("get_friend_info").status_code == 200
    stack.delivery.buffer.take(0)
    sent = get("send_friend_message", uid=f["uid"], content="一条路 GET")
    assert sent.json()["code"] == 0
    asked.append(("POST", "send_friend_message"))
    posted = requests.post(url + "send_friend_message", data={"uid": f["uid"], "content": "一条路 POST"},
                           timeout=10)
    assert posted.json()["code"] == 0
    # The sends' reports are buffered, so neither check_event waits.
    assert eventually(lambda: len(stack.delivery.buffer.since(0, 0)) >= 2)
    assert get("check_event", since=0).json()
    assert get("check_event").json()
    jsonp = get("get_friend_info", datatype="jsonp", callback="cb")
    assert jsonp.text.startswith("cb([")
    assert [(m, p.split("?")[0].rsplit("/", 1)[1]) for m, p in seen] == asked


def test_past_the_cap_check_event_answers_at_once_and_other_routes_stay_free(stack):
    cap = stack.config.max_event_waiters
    held = [_held_check_event(stack) for _ in range(cap)]
    try:
        eventually(lambda: stack.held_polls() == cap)
        t0 = time.monotonic()
        r = requests.get(stack.url + "/openqq/check_event", timeout=10)
        assert r.json() == [] and time.monotonic() - t0 < 5       # not the 10 s timeout
        r = requests.get(stack.url + "/openqq/check_event", params={"since": stack.delivery.buffer.last_seq},
                         timeout=10)
        assert r.json() == [] and time.monotonic() - t0 < 5
        assert "uid" in requests.get(stack.url + "/openqq/get_user_info", timeout=5).json()
    finally:
        for sock in held:
            sock.close()
    eventually(lambda: stack.held_polls() == 0)


def test_a_caller_that_hung_up_leaves_its_item_for_the_next_reader(stack):
    stack.delivery.buffer.take(0)
    gone = _held_check_event(stack)
    eventually(lambda: stack.held_polls() == 1)
    gone.close()
    # The waiter notices the hang-up and leaves without waiting for an item.
    eventually(lambda: stack.held_polls() == 0)
    f = _friend(stack)
    stack.sandbox.world.inject_message("friend_message", f["uid"], "留给下一个")
    eventually(lambda: any(p.get("content") == "留给下一个" for p in stack.posts("receive_message")))
    items = requests.get(stack.url + "/openqq/check_event", timeout=10).json()
    assert [i["content"] for i in items] == ["留给下一个"]


def test_a_cursor_caller_that_hung_up_frees_its_place(stack):
    since = stack.delivery.buffer.last_seq
    gone = [_held_check_event(stack, f"/openqq/check_event?since={since}") for _ in range(3)]
    eventually(lambda: stack.held_polls() == 3)
    for sock in gone:
        sock.close()
    eventually(lambda: stack.held_polls() == 0)
    # The freed places hold new waiters again, and the next event wakes one.
    got = []
    waiter = threading.Thread(target=lambda: got.append(requests.get(
        stack.url + "/openqq/check_event", params={"since": since}, timeout=10).json()), name="test-waiter")
    waiter.start()
    eventually(lambda: stack.held_polls() == 1)
    f = _friend(stack)
    stack.sandbox.world.inject_message("friend_message", f["uid"], "又来了")
    waiter.join(10)
    assert any(i.get("content") == "又来了" for i in got[0])
