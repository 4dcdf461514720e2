"""Send failures injected on the sandbox's send endpoints, through the real API.

Every answer is a non-zero code with a clear status, within ``send_timeout``; the message's
``send_message`` report carries its final status exactly once; a normal send works after.
Shortened through Config: ``ua_request_timeout`` 1 s (a hung send attempt), ``send_timeout``
2 s (the API's bound; 60 s by default), 3 attempts per message (``msg_ttl``).
Lookup failures (codes 100-105) are covered by
tests/web/test_web_live_send.py::test_send_failures_answer_the_original_codes.
"""

from __future__ import annotations

import collections

import pytest

from stacks import LiveStack, eventually


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    stack = LiveStack(str(tmp_path_factory.mktemp("sendfaults")), send_timeout=2.0, msg_ttl=3,
                      ua_request_timeout=1.0, ua_retry_times=1, sandbox_kw={"poll_hold": 0.3})
    try:
        yield stack
    finally:
        stack.close()


def _friend(live):
    names = [f["name"] for f in live.world["friends"]]
    return next(f for f in live.world["friends"] if names.count(f["name"]) == 1 and f["uid"])


@pytest.mark.parametrize("fault, code, status, info", [
    # HTTP 500 on every attempt: the network row of table 8.7 once the TTL is spent.
    ({"status": 500}, -1, "发送失败", "数据格式错误"),
    # The service refuses with a retcode the table does not know (8.7) on every attempt.
    ({"retcode": 108}, -5, "发送失败", "未识别返回值:108"),
    # The first attempt hangs past the request timeout, the others answer 504.
    ({"hang": 1.5, "then": {"status": 504}}, -1, "发送失败", "数据格式错误"),
], ids=["http-500", "retcode-108", "hang-then-504"])
def test_a_failing_send_answers_a_clear_error_in_bounded_time(live, fault, code, status, info):
    friend = _friend(live)
    content = f"fault {fault}"
    then = fault.pop("then", None)
    live.sandbox.world.add_fault("send_buddy_msg2", count=1 if then else 3, **fault)
    if then:
        live.sandbox.world.add_fault("send_buddy_msg2", count=2, **then)
    answer = live.get("/openqq/send_friend_message", uid=friend["uid"], content=content)
    assert (answer["code"], answer["status"], answer["info"]) == (code, status, info), answer
    assert not [s for s in live.sandbox.world.sent if s["content"] == content]
    # The final status is reported once (post_api), with the same code as the answer.
    report = eventually(lambda: [p for p in live.posts("send_message") if p["content"] == content])
    assert len(report) == 1 and report[0]["code"] == answer["code"]
    # Nothing stuck: the next send goes out at once.
    ok = live.get("/openqq/send_friend_message", uid=friend["uid"], content=content + " then ok")
    assert ok["code"] == 0, ok


def test_a_send_slower_than_send_timeout_answers_the_timeout_code(live):
    """Three attempts that each hang past the 1 s request timeout take longer than
    ``send_timeout`` (2 s): the API answers -7 发送超时 then; the message becomes final later
    and its one report tells how it ended."""
    friend = _friend(live)
    live.sandbox.world.add_fault("send_buddy_msg2", count=3, hang=5.0)
    answer = live.get("/openqq/send_friend_message", uid=friend["uid"], content="slow send")
    assert (answer["code"], answer["status"], answer["info"]) == (-7, "发送失败", "发送超时")
    reports = eventually(lambda: [p for p in live.posts("send_message") if p["content"] == "slow send"],
                         timeout=10)
    assert len(reports) == 1 and reports[0]["code"] == -1
    ok = live.get("/openqq/send_friend_message", uid=friend["uid"], content="after slow send")
    assert ok["code"] == 0, ok


def test_a_transient_send_failure_is_retried_to_success(live):
    friend = _friend(live)
    live.sandbox.world.add_fault("send_buddy_msg2", count=2, status=502)
    answer = live.get("/openqq/send_friend_message", uid=friend["uid"], content="third time lucky")
    assert answer["code"] == 0, answer
    sent = [s for s in live.sandbox.world.sent if s["content"] == "third time lucky"]
    assert len(sent) == 1
    eventually(lambda: collections.Counter(p["content"] for p in live.posts("send_message"))["third time lucky"] == 1)


def test_a_send_during_a_relogin_waits_for_the_new_session(live):
    """The session is lost (poll2 103) and the quick relogin takes 0.8 s (pt4_auth delayed):
    a send made meanwhile is held, not failed, and goes out once on the new session."""
    friend = _friend(live)
    logins = len(live.posts("event", "login"))
    live.sandbox.world.set_delay("pt4_auth", 800)
    try:
        live.sandbox.world.add_fault("poll2", count=1, retcode=103)
        live.sandbox.world.inject_message("friend_message", friend["uid"], "wake the poll")
        eventually(lambda: not live.client._rt.online)            # relogin under way
        answer = live.get("/openqq/send_friend_message", uid=friend["uid"], content="during relogin")
    finally:
        live.sandbox.world.set_delay("pt4_auth", 0)
    assert answer["code"] == 0, answer
    assert len([s for s in live.sandbox.world.sent if s["content"] == "during relogin"]) == 1
    login = eventually(lambda: live.posts("event", "login")[logins:])
    assert login[0]["params"] == [0]                                # saved cookies, no scan
