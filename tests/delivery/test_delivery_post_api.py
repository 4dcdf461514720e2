"""PostApiReporter against a real receiver on loopback: order, retries, signatures, answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time

import pytest
from openqq_sync.delivery import PostApiReporter
from webkit import Receiver, eventually, json_answer

FAST = (0.01, 0.05)


def body(n):
    return json.dumps({"n": n, "content": "你好"}, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def make():
    made = []

    def factory(url, **kw):
        kw.setdefault("backoff", FAST)
        rep = PostApiReporter(url, name="test-post-api", **kw)
        rep.start()
        made.append(rep)
        return rep

    yield factory
    for rep in made:
        rep.stop(0.5)


def test_delivers_in_order_with_json_headers_and_self_id(make):
    with Receiver() as recv:
        rep = make(recv.url, self_id=lambda: 123456)
        for n in range(20):
            assert rep.submit(body(n))
        recv.wait_for(lambda reqs: len(reqs) == 20)
        assert [b["n"] for b in recv.bodies()] == list(range(20))
        req = recv.requests[0]
        assert req.headers["Content-Type"] == "application/json"
        assert req.headers["X-Self-ID"] == "123456"
        assert "X-Signature" not in req.headers
        assert recv.bodies()[0]["content"] == "你好"
        eventually(lambda: rep.stats.delivered == 20)


def test_post_secret_signs_every_request(make):
    secret = "hush"
    with Receiver() as recv:
        rep = make(recv.url, secret=secret)
        rep.submit(body(1))
        req = recv.wait_for(lambda reqs: len(reqs) == 1)[0]
        sha1 = hmac.new(secret.encode(), req.body, hashlib.sha1).hexdigest()
        assert req.headers["X-Signature"] == f"sha1={sha1}"
        ts = req.headers["X-Openqq-Timestamp"]
        assert abs(int(ts) - time.time()) < 60
        sha256 = hmac.new(secret.encode(), ts.encode() + b"." + req.body, hashlib.sha256).hexdigest()
        assert req.headers["X-Openqq-Signature-256"] == f"sha256={sha256}"


def test_500_answers_are_retried_and_order_is_kept(make):
    failures = {"left": 3}
    lock = threading.Lock()

    def respond(req):
        with lock:
            if failures["left"]:
                failures["left"] -= 1
                return 500, {}, b"oops"
        return 200, {}, b"ok"

    with Receiver(respond) as recv:
        rep = make(recv.url)
        for n in range(3):
            rep.submit(body(n))
        recv.wait_for(lambda reqs: len(reqs) == 6)
        assert [b["n"] for b in recv.bodies()] == [0, 0, 0, 0, 1, 2]
        eventually(lambda: rep.stats.delivered == 3)
        assert rep.stats.retries == 3


def test_receiver_down_then_up_gets_everything_in_order(make):
    probe = Receiver()
    port, url = probe.port, probe.url
    probe.close()
    rep = make(url)
    for n in range(5):
        rep.submit(body(n))
    eventually(lambda: rep.stats.retries >= 3)
    with Receiver(port=port) as recv:
        recv.wait_for(lambda reqs: len(reqs) == 5)
        assert [b["n"] for b in recv.bodies()] == list(range(5))


def test_garbage_and_slow_answers_are_retried(make):
    calls = {"n": 0}

    def respond(req):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionAbortedError()      # connection closed without an answer
        if calls["n"] == 2:
            time.sleep(0.5)                     # longer than the reporter's timeout
        return 200, {}, b"ok"

    with Receiver(respond) as recv:
        rep = make(recv.url, timeout=0.2)
        rep.submit(body(7))
        recv.wait_for(lambda reqs: len(reqs) >= 2)
        eventually(lambda: rep.stats.delivered == 1)
        assert rep.stats.retries == 2
        assert all(b["n"] == 7 for b in recv.bodies())


def test_full_queue_drops_new_items_and_counts_them(make):
    rep = PostApiReporter("http://127.0.0.1:9/", queue_size=2)    # not started: nothing drains
    assert rep.submit(body(1)) and rep.submit(body(2))
    assert not rep.submit(body(3)) and not rep.submit(body(4))
    assert rep.stats.dropped_full == 2 and rep.pending() == 2
    rep.stop(0)
    assert rep.stats.abandoned == 2


def test_retry_window_expiry_moves_on_to_the_next_item(make):
    def respond(req):
        return (500, {}, b"") if req.json()["n"] == 0 else (200, {}, b"ok")

    with Receiver(respond) as recv:
        rep = make(recv.url, retry_window=0.1)
        rep.submit(body(0))
        rep.submit(body(1))
        recv.wait_for(lambda reqs: any(r.json()["n"] == 1 for r in reqs))
        eventually(lambda: rep.stats.delivered == 1)
        assert rep.stats.expired == 1


def test_json_answers_reach_on_reply_only_for_items_with_a_context(make):
    answers = []
    got = threading.Event()

    def on_reply(ctx, answer):
        answers.append((ctx, answer))
        got.set()

    kinds = iter(["json", "text", "badjson", "json", "textjson"])

    def respond(req):
        kind = next(kinds)
        if kind == "json":
            return json_answer({"reply": "你好", "code": 0})
        if kind == "textjson":
            return 200, {"Content-Type": "text/json"}, b'{"reply": "t"}'
        if kind == "badjson":
            return 200, {"Content-Type": "application/json"}, b"{nope"
        return 200, {"Content-Type": "text/plain"}, b'{"reply": "ignored"}'

    with Receiver(respond) as recv:
        rep = make(recv.url, on_reply=on_reply)
        rep.submit(body(1), context="msg1")     # json -> acted on
        rep.submit(body(2), context="msg2")     # text/plain -> ignored
        rep.submit(body(3), context="msg3")     # invalid JSON -> warning only
        rep.submit(body(4), context=None)       # a sent message: never acted on
        rep.submit(body(5), context="msg5")     # text/json counts as JSON
        recv.wait_for(lambda reqs: len(reqs) == 5)
        eventually(lambda: len(answers) == 2)
        assert answers == [("msg1", {"reply": "你好", "code": 0}), ("msg5", {"reply": "t"})]


def test_stop_gives_up_after_the_drain_timeout_and_counts(make):
    rep = PostApiReporter("http://127.0.0.1:9/", backoff=FAST, timeout=0.2)
    rep.start()
    for n in range(3):
        rep.submit(body(n))
    started = time.monotonic()
    rep.stop(drain_timeout=0.2)
    assert time.monotonic() - started < 3
    assert rep.stats.abandoned == 3 and rep.stats.delivered == 0


def test_logs_never_show_keys_in_the_receiver_url(caplog):
    from openqq_sync.delivery.post_api import redact
    caplog.set_level(logging.INFO, logger="openqq_sync.delivery.post_api")
    assert redact("https://user:pw@example.com:8443/hook?key=s3cret#x") == "https://example.com:8443/hook"
    rep = PostApiReporter("http://u:pw@127.0.0.1:9/hook?key=s3cret", backoff=FAST, timeout=0.2)
    rep.start()
    rep.submit(body(1))
    eventually(lambda: rep.stats.retries >= 1)
    rep.stop(0)
    assert "post_api http://127.0.0.1:9/hook" in caplog.text
    assert "s3cret" not in caplog.text and "pw" not in caplog.text
