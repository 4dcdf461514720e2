"""post_api faults end to end: a real Client on the sandbox reports to a receiver that is
down (connection refused), flaky (answering 500 and 429 in turn), slow (two answers after
the timeout) or that never answers two reports.

Every accepted report (received and sent messages, events) reaches the receiver exactly
once, in ``seq`` order: after it recovers, or at once when it only answers late (a report
fully sent counts as delivered and is never sent again). Meanwhile the protocol thread keeps
receiving and check_event keeps answering. Shortened through Config: the outage lasts until
the reporter has retried once more (about 1 s of backoff) instead of 8 s; "slow" is two 1 s
answers against a ``post_api_timeout`` of 0.5 s instead of 7 s against 5 s; the retry
window is 30 s (1 s where the window itself is tested). Reporter-level cases (never
answering, late replies, full queue, drain at stop, signatures, hostile answers) are in
tests/delivery.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest

from stacks import LiveStack, Receiver, eventually


class Switchable:
    """A post_api receiver whose behaviour a test switches; ``down()`` closes the port and
    every kept-alive connection, as a receiver that died would."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.slow_left = 0
        self.never_left = 0
        self.release = threading.Event()  # ends the answers that are never given
        self.calls = 0
        self.lock = threading.Lock()
        self.ok: list = []                # bodies read and taken (the receiver has them)
        self.receiver = Receiver(self._respond)
        self.port = self.receiver.port
        self.url = self.receiver.url

    def _respond(self, req):
        with self.lock:
            mode = self.mode
            self.calls += 1
            if mode == "flaky":       # 500 and 429, in turn: not taken, try again
                mode = "500" if self.calls % 2 else "429"
            slow = self.slow_left > 0
            if slow:
                self.slow_left -= 1
            never = not slow and self.never_left > 0
            if never:
                self.never_left -= 1
        if mode in ("500", "429"):
            return int(mode), {"Connection": "close"}, b"oops"
        if mode == "down":
            raise ConnectionAbortedError()
        with self.lock:
            self.ok.append(req.json())
        if slow:
            time.sleep(1.0)               # longer than post_api_timeout: the client gives up
        if never:
            self.release.wait(30)
            raise ConnectionAbortedError()
        # A fresh connection per report, so that once down() closed the port nothing is read.
        if mode == "garbage":
            return 200, {"Content-Type": "application/json", "Connection": "close"}, b"\xff{not json"
        return 200, {"Content-Type": "text/plain", "Connection": "close"}, b"ok"

    def down(self) -> None:
        self.mode = "down"                # kept-alive connections are cut at their next request
        self.receiver.close()
        self.receiver = None

    def up(self) -> None:
        self.receiver = Receiver(self._respond, port=self.port)
        self.mode = "ok"

    def bodies(self):
        with self.lock:
            return list(self.ok)

    def close(self) -> None:
        self.release.set()
        if self.receiver is not None:
            self.receiver.close()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    recv = Switchable()
    live = LiveStack(str(tmp_path_factory.mktemp("postapi")), receiver=False, post_api=recv.url,
                     post_api_timeout=0.5, post_api_retry_window=30.0, check_event_retention=100000,
                     check_event_timeout=2.0)
    live.recv = recv
    try:
        yield live
    finally:
        live.close()
        recv.close()


def _friends(live, n):
    return [f for f in live.world["friends"] if f["uid"]][:n]


def _seqs_delivered(recv, start):
    """Delivered seqs above ``start`` in arrival order."""
    return [b["seq"] for b in recv.bodies() if b.get("seq") is not None and b["seq"] > start]


def _cursor(live, since, want):
    """check_event?since= until ``want`` items are there; the items."""
    def enough():
        items = live.get("/openqq/check_event", since=since)
        return items if len(items) >= want else None
    return eventually(enough, timeout=15)


@pytest.mark.parametrize("fault", [pytest.param("down", marks=pytest.mark.restarts_module_threads),
                                   "flaky", "slow", "never"])
def test_reports_survive_a_receiver_fault_in_order(stack, fault):
    live, recv = stack, stack.recv
    start = live.delivery.buffer.last_seq
    if fault == "down":
        recv.down()
    elif fault == "slow":
        with recv.lock:
            recv.slow_left = 2
    elif fault == "never":
        with recv.lock:
            recv.never_left = 2
    else:
        recv.mode = fault
    friends = _friends(live, 3)
    for n in range(6):
        live.sandbox.world.inject_message("friend_message", friends[n % 3]["uid"], f"{fault} 收 {n}")
    sent = live.get("/openqq/send_friend_message", uid=friends[0]["uid"], content=f"{fault} 发")
    assert sent["code"] == 0                       # sends are not held up by post_api
    # The protocol thread and check_event are not slowed: all 7 reports are readable now.
    items = _cursor(live, start, 7)
    assert [i["content"] for i in items if i["post_type"] == "receive_message"] == \
        [f"{fault} 收 {n}" for n in range(6)]
    if fault in ("down", "flaky"):
        # Still failing: nothing of this batch can have been delivered yet.
        assert _seqs_delivered(recv, start) == []
        assert live.delivery.reporter.pending() >= 7
        retries = live.delivery.reporter.stats.retries
        eventually(lambda: live.delivery.reporter.stats.retries >= retries + 1, timeout=10)
        if fault == "down":
            recv.up()
        else:
            recv.mode = "ok"
    expected = [i["seq"] for i in live.get("/openqq/check_event", since=start)]
    eventually(lambda: set(expected) <= set(_seqs_delivered(recv, start)), timeout=20)
    assert _seqs_delivered(recv, start)[:len(expected)] == expected   # in order, each once
    eventually(lambda: live.delivery.reporter.pending() == 0)
    assert live.delivery.reporter.stats.expired == 0
    if fault in ("slow", "never"):
        assert live.delivery.reporter.stats.bad_answers >= 2


def test_a_garbage_answer_counts_as_delivered_and_is_ignored(stack, caplog):
    """A receiver answering undecodable bytes as JSON: each report is delivered once (2xx),
    the answer is ignored with a warning, nothing is acted on."""
    live, recv = stack, stack.recv
    start = live.delivery.buffer.last_seq
    recv.mode = "garbage"
    try:
        with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.post_api"):
            live.sandbox.world.inject_message("friend_message", _friends(live, 1)[0]["uid"], "垃圾回答")
            eventually(lambda: [b for b in recv.bodies() if b.get("content") == "垃圾回答"])
            eventually(lambda: "not valid JSON" in caplog.text)
    finally:
        recv.mode = "ok"
    assert len([b for b in recv.bodies() if b.get("content") == "垃圾回答"]) == 1
    assert _seqs_delivered(recv, start) == [i["seq"] for i in live.get("/openqq/check_event", since=start)]
    sent_replies = [s for s in live.sandbox.world.sent if s["time"] and "垃圾" in s["content"]]
    assert sent_replies == []


def test_what_outlives_the_retry_window_is_logged_with_counts(tmp_path, caplog):
    """Retry window 1 s (600 s by default) against a receiver answering 500: each report is
    given up with a warning that counts the attempts and the expired total; the next report
    after recovery is delivered."""
    recv = Switchable()
    recv.mode = "500"
    live = LiveStack(str(tmp_path), receiver=False, post_api=recv.url, post_api_timeout=0.5,
                     post_api_retry_window=1.0, post_event=False)
    try:
        uid = _friends(live, 1)[0]["uid"]
        with caplog.at_level(logging.WARNING, logger="openqq_sync.delivery.post_api"):
            for n in range(2):
                live.sandbox.world.inject_message("friend_message", uid, f"过期 {n}")
            eventually(lambda: live.delivery.reporter.stats.expired == 2, timeout=15)
            gave_up = [r.getMessage() for r in caplog.records if "giving up" in r.getMessage()]
        assert len(gave_up) == 2 and "2 expired so far" in gave_up[-1] and "attempt(s)" in gave_up[-1]
        assert "HTTP 500" in gave_up[-1]
        recv.mode = "ok"
        live.sandbox.world.inject_message("friend_message", uid, "恢复")
        eventually(lambda: [b for b in recv.bodies() if b.get("content") == "恢复"])
        assert not [b for b in recv.bodies() if str(b.get("content", "")).startswith("过期")]
    finally:
        live.close()
        recv.close()
