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
from stacks import Receiver, eventually, json_answer

FAST = (0.01, 0.05)


def body(n):
    return json.dumps({"n": n, "content": "你好"}, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def make():
    made = []

    def factory(url, **kw):
        kw.setdefault("backoff", FAST)
        rep = PostApiReporter(url, account="test", **kw)
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


def test_500_answers_are_retried_oldest_first_and_order_is_kept(make):
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
    """The issue's 8 s outage scaled by 1/10: reports accepted while the receiver refuses
    connections all arrive once it is back, in order, none lost, none twice."""
    probe = Receiver()
    port, url = probe.port, probe.url
    probe.close()
    rep = make(url, backoff=(0.02, 0.1))
    down_until = time.monotonic() + 0.8
    n = 0
    while time.monotonic() < down_until:
        rep.submit(body(n))
        n += 1
        time.sleep(0.05)
    assert rep.stats.delivered == 0 and rep.stats.retries >= 3
    with Receiver(port=port) as recv:
        recv.wait_for(lambda reqs: len(reqs) == n)
        assert [b["n"] for b in recv.bodies()] == list(range(n))
        eventually(lambda: rep.pending() == 0)
        assert rep.stats.delivered == n and rep.stats.expired == 0


def test_a_sent_report_is_never_sent_again_whatever_its_answer(make):
    """Closed without an answer, answered after the timeout: both were fully sent, so both
    count as delivered and the receiver sees each report exactly once."""
    calls = {"n": 0}
    seen = []
    lock = threading.Lock()

    def respond(req):
        with lock:
            calls["n"] += 1
            n = calls["n"]
            seen.append(req.json()["n"])
        if n == 1:
            raise ConnectionAbortedError()      # connection closed without an answer
        if n == 2:
            time.sleep(0.6)                     # answers after the reporter's timeout
        return 200, {}, b"ok"

    with Receiver(respond) as recv:
        rep = make(recv.url, timeout=0.3)
        for n in range(3):
            rep.submit(body(n))
        eventually(lambda: rep.stats.delivered == 3)
        eventually(lambda: len(recv.requests) == 2)     # the slow one's answer is done too
        assert seen == [0, 1, 2]
        assert rep.stats.retries == 0 and rep.stats.bad_answers == 2 and rep.pending() == 0


def test_a_receiver_that_never_answers_does_not_hold_back_later_reports(make):
    """Issue 13: a receiver that reads each POST and never answers (a common bot bug). Every
    report still arrives, one per hand-off delay, well within the per-report timeout."""
    arrived = []
    cond = threading.Condition()
    release = threading.Event()

    def never(req):
        with cond:
            arrived.append((time.monotonic(), req.json()["n"]))
            cond.notify_all()
        release.wait(10)
        raise ConnectionAbortedError()

    with Receiver(never) as recv:
        rep = make(recv.url, timeout=2.0, handoff=0.1)
        started = time.monotonic()
        for n in range(3):
            rep.submit(body(n))
        try:
            with cond:
                assert cond.wait_for(lambda: len(arrived) == 3, 2.0), arrived
            assert [n for _, n in arrived] == [0, 1, 2]
            assert arrived[-1][0] - started < 1.0       # not 3 timeouts: the hand-offs only
            # Once their answers are given up (the timeout), each report counts as delivered.
            eventually(lambda: rep.stats.delivered == 3, timeout=5)
            assert rep.stats.bad_answers == 3 and rep.stats.retries == 0
        finally:
            release.set()
            recv.wait_for(lambda reqs: True)
    assert len(arrived) == 3                            # never sent twice


def test_a_slow_receiver_gets_no_duplicate_and_later_reports_flow(make):
    """The issue's receiver answering in 7 s against the 5 s timeout, scaled by 1/10: the
    report is not resent, and the next one goes out after the hand-off, not after 0.7 s."""
    seen = []

    def slow(req):
        n = req.json()["n"]
        seen.append((time.monotonic(), n))
        if n == 0:
            time.sleep(0.7)
        return json_answer({"reply": f"re {n}"})

    replies = []
    with Receiver(slow) as recv:
        rep = make(recv.url, timeout=0.5, handoff=0.1, on_reply=lambda ctx, a: replies.append(a["reply"]))
        started = time.monotonic()
        rep.submit(body(0), context="m0")
        rep.submit(body(1), context="m1")
        eventually(lambda: len(seen) == 2)
        assert seen[1][0] - started < 0.45
        eventually(lambda: rep.stats.delivered == 2)
        recv.wait_for(lambda reqs: len(reqs) == 2)      # the slow answer was written, late
        time.sleep(0.3)                                 # a duplicate would come within a backoff
        assert [n for _, n in seen] == [0, 1]
        assert replies == ["re 1"] and rep.stats.bad_answers == 1


def test_a_late_answer_within_the_timeout_is_still_acted_on(make):
    """Past the hand-off the next report goes out; the answer that comes later, but within
    the timeout, still reaches on_reply (a reply or a mute is not lost)."""
    got = []

    def late(req):
        if req.json()["n"] == 0:
            time.sleep(0.4)
        return json_answer({"reply": f"re {req.json()['n']}"})

    with Receiver(late) as recv:
        rep = make(recv.url, timeout=2.0, handoff=0.1, on_reply=lambda ctx, a: got.append((ctx, a["reply"])))
        rep.submit(body(0), context="m0")
        rep.submit(body(1), context="m1")
        eventually(lambda: len(got) == 2)
        assert got == [("m1", "re 1"), ("m0", "re 0")]
        assert rep.stats.bad_answers == 0


@pytest.mark.parametrize("status", [503, 429])
def test_503_and_429_are_retried_4xx_is_not(make, status):
    answers = iter([status, 200, 404])
    lock = threading.Lock()

    def respond(req):
        with lock:
            return next(answers), {}, b""

    with Receiver(respond) as recv:
        rep = make(recv.url)
        rep.submit(body(0))
        rep.submit(body(1))
        recv.wait_for(lambda reqs: len(reqs) == 3)
        eventually(lambda: rep.stats.delivered == 2)
        assert [b["n"] for b in recv.bodies()] == [0, 0, 1]
        assert rep.stats.retries == 1 and rep.stats.rejected == 1


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


def test_a_single_threaded_receiver_is_served_on_one_kept_alive_connection(make):
    """A receiver that serves one connection at a time (http.server without threads) must
    not see a second connection while the first is healthy: it would sit unserved."""
    import http.server
    got = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = -1       # one write per answer: headers and body apart meet Nagle + delayed ACK

        def do_POST(self):  # noqa: N802 (http.server's naming)
            got.append((self.client_address[1], json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="test-single-receiver", daemon=True)
    thread.start()
    try:
        rep = make(f"http://127.0.0.1:{server.server_address[1]}/post", timeout=5.0)
        started = time.monotonic()
        for n in range(200):
            rep.submit(body(n))
            if n % 20 == 0:
                time.sleep(0.005)         # bursts and gaps, as messages come
        eventually(lambda: rep.stats.delivered == 200, timeout=10)
        assert time.monotonic() - started < 4        # no report waited out a timeout
        assert [b["n"] for _, b in got] == list(range(200))
        assert len({port for port, _ in got}) == 1 and rep.stats.bad_answers == 0
    finally:
        rep.stop(1)
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_stop_delivers_what_is_queued_within_the_drain_timeout(make):
    """The idle workers leave at stop; the one whose report was answered 503 stays and
    retries it (oldest first), and the rest after it."""
    answers = iter([503])
    lock = threading.Lock()

    def respond(req):
        with lock:
            return next(answers, 200), {}, b""

    with Receiver(respond) as recv:
        rep = make(recv.url)
        for n in range(5):
            rep.submit(body(n))
        rep.stop(drain_timeout=3)
        assert rep.stats.delivered == 5 and rep.stats.abandoned == 0
        assert [b["n"] for b in recv.bodies()] == [0, 0, 1, 2, 3, 4]
